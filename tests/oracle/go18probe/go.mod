// Probes of Go 1.8, built with Go 1.8 (no modules: GO111MODULE=off). They
// live apart from ../go18, whose contents key the cached real runs of
// `goheap validate --profile go1.8`. This go.mod only keeps them out of
// ../'s "go build ./...": their build tag (!go1.9) excludes them anyway.
module goheap/oracle/go18probe

go 1.22
