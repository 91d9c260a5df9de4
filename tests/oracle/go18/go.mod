// The Go 1.8 twins are built with Go 1.8 (no modules: GO111MODULE=off,
// single files). This go.mod only keeps them out of ../'s "go build ./...":
// their build tag (!go1.9) excludes them from newer toolchains anyway.
module goheap/oracle/go18

go 1.22
