package io.krill.runtime;

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
  INTERNAL
}
