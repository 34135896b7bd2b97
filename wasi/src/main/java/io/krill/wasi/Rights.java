package io.krill.wasi;

/** The preview1 {@code rights} bits. */
final class Rights {
  static final long FD_DATASYNC = 1L;
  static final long FD_READ = 1L << 1;
  static final long FD_SEEK = 1L << 2;
  static final long FD_FDSTAT_SET_FLAGS = 1L << 3;
  static final long FD_SYNC = 1L << 4;
  static final long FD_TELL = 1L << 5;
  static final long FD_WRITE = 1L << 6;
  static final long FD_ADVISE = 1L << 7;
  static final long FD_ALLOCATE = 1L << 8;
  static final long FD_READDIR = 1L << 14;
  static final long FD_FILESTAT_GET = 1L << 21;
  static final long FD_FILESTAT_SET_SIZE = 1L << 22;
  static final long FD_FILESTAT_SET_TIMES = 1L << 23;
  static final long POLL_FD_READWRITE = 1L << 27;

  /** Every right of the witx (bits 0 to 29). */
  static final long ALL = (1L << 30) - 1;

  /**
   * What a directory descriptor allows itself: the path_* calls, readdir, stat; no read or write.
   */
  static final long DIRECTORY_BASE =
      ALL
          & ~(FD_READ
              | FD_SEEK
              | FD_TELL
              | FD_WRITE
              | FD_ADVISE
              | FD_ALLOCATE
              | FD_FILESTAT_SET_SIZE
              | POLL_FD_READWRITE);

  private Rights() {}
}
