"""The CPU engines (clothing, glasses, cut-out) and the person, face and garment analysis
they share: MediaPipe's shipped models plus classical geometry, no weights to download."""

import cv2

# One OpenCV thread per engine process: a lane already runs one process per core, and
# threaded resize/remap can reorder float sums, while one thread keeps bytes stable.
cv2.setNumThreads(1)
