package train

import (
	"fmt"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// corpusExts are the file types ReadCorpus takes from a directory.
var corpusExts = map[string]bool{".txt": true, ".md": true, ".html": true, ".htm": true, ".text": true}

// ReadCorpus returns the training text at path: the file itself, or every
// .txt, .md, .html and .htm file under the directory, in lexical path
// order, separated by blank lines. HTML files are reduced to their text
// (tags, comments, scripts and styles removed, entities decoded). It fails
// with an error wrapping ErrData when the result holds no text.
func ReadCorpus(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("train: corpus: %w", err)
	}
	var files []string
	if st.IsDir() {
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && corpusExts[strings.ToLower(filepath.Ext(p))] {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("train: corpus: %w", err)
		}
	} else {
		files = []string{path}
	}
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("train: corpus: %w", err)
		}
		text := string(data)
		if ext := strings.ToLower(filepath.Ext(f)); ext == ".html" || ext == ".htm" {
			text = StripHTML(text)
		}
		text = tidy(text)
		if text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(text)
	}
	if strings.TrimSpace(b.String()) == "" {
		return "", fmt.Errorf("train: corpus %s holds no text (%d files): %w", path, len(files), ErrData)
	}
	return b.String(), nil
}

var (
	reBlock   = regexp.MustCompile(`(?is)<!--.*?-->|<script\b.*?</script>|<style\b.*?</style>`)
	reTag     = regexp.MustCompile(`(?s)<[^>]*>`)
	reSpaceNL = regexp.MustCompile(`[ \t\r]+\n`)
	reBlank   = regexp.MustCompile(`\n{3,}`)
)

// StripHTML returns the text of an HTML document: comments, scripts and
// styles dropped, tags removed, entities decoded.
func StripHTML(s string) string {
	s = reBlock.ReplaceAllString(s, "")
	s = reTag.ReplaceAllString(s, "")
	return html.UnescapeString(s)
}

// tidy drops trailing spaces on lines and collapses runs of blank lines.
func tidy(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = reSpaceNL.ReplaceAllString(s, "\n")
	s = reBlank.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s)
}
