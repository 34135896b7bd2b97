package io.krill.wasi;

/** A call's failure with its errno; cheap (no stack trace), it is control flow. */
final class WasiError extends Exception {
  final int errno;

  WasiError(int errno) {
    super("errno " + errno, null, false, false);
    this.errno = errno;
  }
}
