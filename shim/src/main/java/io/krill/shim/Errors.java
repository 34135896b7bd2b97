package io.krill.shim;

import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import io.krill.ttrpc.Code;
import io.krill.ttrpc.TtrpcException;

/** The one place where runtime errors become ttrpc statuses (containerd's errdefs codes). */
final class Errors {
  private Errors() {}

  static TtrpcException toTtrpc(Throwable t) {
    if (t instanceof TtrpcException e) {
      return e;
    }
    if (t instanceof KrillException k) {
      return new TtrpcException(code(k.code()), k.getMessage());
    }
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return new TtrpcException(Code.UNKNOWN, "krill: " + message);
  }

  private static Code code(ErrorCode c) {
    return switch (c) {
      case INVALID_ARGUMENT -> Code.INVALID_ARGUMENT;
      case NOT_FOUND -> Code.NOT_FOUND;
      case ALREADY_EXISTS -> Code.ALREADY_EXISTS;
      case FAILED_PRECONDITION -> Code.FAILED_PRECONDITION;
      case RESOURCE_EXHAUSTED -> Code.RESOURCE_EXHAUSTED;
      case UNIMPLEMENTED -> Code.UNIMPLEMENTED;
      case UNAVAILABLE -> Code.UNAVAILABLE;
      case INTERNAL -> Code.INTERNAL;
    };
  }

  /** UNIMPLEMENTED (containerd's errdefs.ErrNotImplemented), naming the container. */
  static TtrpcException unimplemented(String containerId, String why) {
    return new TtrpcException(Code.UNIMPLEMENTED, "container " + containerId + ": " + why);
  }
}
