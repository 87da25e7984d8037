module gotune.bench/gctree

go 1.19
