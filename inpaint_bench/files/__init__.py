"""Files, weights and provenance: the cache paths, atomic writes, sha256 hashing and pins, the weight-file
catalogue, downloads, and the record of which weight files a computation read. The lowest layer of the suite:
it imports nothing else of the package."""
