module gotune.test/witness

go 1.19
