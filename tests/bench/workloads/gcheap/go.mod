module gotune.bench/gcheap

go 1.19
