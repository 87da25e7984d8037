module gotune.bench/httpalloc

go 1.19
