package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version, when set at build time (-ldflags "-X main.version=v1.2.3"),
// replaces the module version that the build info records.
var version string

type versionCmd struct{}

func (versionCmd) Run(ctx context.Context, s *streams) error {
	bi, _ := debug.ReadBuildInfo()
	_, err := fmt.Fprintln(s.out, versionString(version, bi))
	return err
}

// versionString returns "zerfoo VERSION (REVISION[+dirty]) GOVERSION OS/ARCH"
// from the build info (nil when there is none); override replaces the
// module version. The revision is left out when the build recorded none.
func versionString(override string, bi *debug.BuildInfo) string {
	v, rev, dirty, gover := override, "", false, runtime.Version()
	if bi != nil {
		if v == "" {
			v = bi.Main.Version
		}
		gover = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	out := "zerfoo " + v
	if rev != "" {
		rev = rev[:min(len(rev), 12)]
		if dirty {
			rev += "+dirty"
		}
		out += " (" + rev + ")"
	}
	return fmt.Sprintf("%s %s %s/%s", out, gover, runtime.GOOS, runtime.GOARCH)
}
