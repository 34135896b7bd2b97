package io.krill.runtime;

import io.krill.engine.EngineException;

/**
 * Why a runtime operation failed; each front door maps these to its protocol's status codes in one
 * place.
 */
public enum ErrorCode {
  INVALID_ARGUMENT,
  NOT_FOUND,
  ALREADY_EXISTS,
  FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED,
  UNIMPLEMENTED,
  UNAVAILABLE,
  INTERNAL;

  /** An engine's refusal: a module it rejects is the user's to fix, a lack is the daemon's. */
  static ErrorCode of(EngineException.Kind kind) {
    return switch (kind) {
      case INVALID_MODULE -> INVALID_ARGUMENT;
      case RESOURCE_EXHAUSTED -> RESOURCE_EXHAUSTED;
      case INTERNAL -> INTERNAL;
    };
  }
}
