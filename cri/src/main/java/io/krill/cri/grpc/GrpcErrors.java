package io.krill.cri.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.krill.cri.container.ExecSession;
import io.krill.cri.core.Refused;
import io.krill.oci.registry.RegistryException;
import io.krill.runtime.KrillException;
import java.lang.System.Logger.Level;
import java.util.function.Supplier;

/** The one place where the core's errors become gRPC statuses for the CRI front door. */
final class GrpcErrors {
  private static final System.Logger LOG = System.getLogger("krill.cri");

  private GrpcErrors() {}

  /** Runs a unary call and answers with its result or the mapped error. */
  static <T> void unary(String method, StreamObserver<T> out, Supplier<T> call) {
    T result;
    try {
      result = call.get();
    } catch (RuntimeException e) {
      StatusRuntimeException s = toStatus(e);
      LOG.log(
          s.getStatus().getCode() == Status.Code.INTERNAL ? Level.WARNING : Level.INFO,
          "{0} failed: {1}",
          method,
          s.getStatus().getDescription());
      out.onError(s);
      return;
    }
    out.onNext(result);
    out.onCompleted();
  }

  static StatusRuntimeException toStatus(RuntimeException e) {
    if (e instanceof StatusRuntimeException s) {
      return s;
    }
    Status status;
    if (e instanceof KrillException k) {
      status =
          switch (k.code()) {
            case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
            case NOT_FOUND -> Status.NOT_FOUND;
            case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
            case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
            case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
            case UNIMPLEMENTED -> Status.UNIMPLEMENTED;
            case UNAVAILABLE -> Status.UNAVAILABLE;
            case INTERNAL -> Status.INTERNAL;
          };
    } else if (e instanceof Refused) {
      status = Status.UNKNOWN;
    } else if (e instanceof ExecSession.Timeout) {
      status = Status.DEADLINE_EXCEEDED;
    } else if (e instanceof RegistryException r) {
      status =
          switch (r.status()) {
            case 0 -> Status.UNAVAILABLE;
            case 401 -> Status.UNAUTHENTICATED;
            case 403 -> Status.PERMISSION_DENIED;
            case 404 -> Status.NOT_FOUND;
            default -> Status.UNKNOWN;
          };
    } else if (e instanceof IllegalArgumentException) {
      status = Status.INVALID_ARGUMENT;
    } else {
      status = Status.INTERNAL;
    }
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return status.withDescription(message).withCause(e).asRuntimeException();
  }
}
