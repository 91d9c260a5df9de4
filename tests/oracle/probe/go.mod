module goheap/probe

go 1.27
