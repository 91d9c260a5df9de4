// The calibration probes are built by `goheap calibrate` with each toolchain it
// is given: in module mode by today's Go, as single files (GO111MODULE=off) by
// Go 1.8. This go.mod only keeps them out of ../'s "go build ./...".
module goheap/oracle/calibrate

go 1.22
