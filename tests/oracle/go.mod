module goheap/oracle

go 1.22
