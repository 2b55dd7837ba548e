module github.com/zerfoo/zerfoo

go 1.26.8

require (
	github.com/alecthomas/kong v1.17.0 // indirect
	golang.org/x/sync v0.18.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	gonum.org/v1/gonum v0.17.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
