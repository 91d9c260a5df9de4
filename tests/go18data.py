"""Go 1.8's facts as test data (runtime/sizeclasses.go and struct sizes, amd64).

Expected values live here once, so every test derives its expectations from
Go's own tables rather than from the model.
"""

ARENA_START = 0xC420000000
PAGE = 8192
MiB = 1 << 20
MAX_SMALL = 32768
SIZEOF_MSPAN = 152
SIZEOF_MCACHE = 1200
BYSIZE_LEN = 61  # MemStats.BySize is [61]struct{...} in Go 1.8

CLASS_TO_SIZE = [
    0, 8, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288,
    320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408,
    1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784,
    6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072,
    20480, 21760, 24576, 27264, 28672, 32768,
]  # fmt: skip
CLASS_TO_ALLOCNPAGES = [
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 2, 1, 2, 1, 2, 1, 3, 2, 3, 1, 3, 2, 3, 4, 5, 6, 1, 7, 6, 5, 4, 3,
    5, 7, 2, 9, 7, 5, 8, 3, 10, 7, 4,
]  # fmt: skip
