package io.krill.wasi;

import java.util.List;

/**
 * One WASI import as an engine defines it: module, name, wasm signature and the Java that serves
 * it. Every parameter is passed as a long (an i32 as its signed value); a function with a result
 * returns it as an int errno.
 */
public record HostFunction(
    String module, String name, List<ValType> params, boolean returnsErrno, Body body) {

  /** The wasm value types WASI's signatures use. */
  public enum ValType {
    I32,
    I64
  }

  /**
   * The call itself, on the calling guest's {@code wasi}; {@code memory} is the caller's exported
   * memory (empty when it has none).
   */
  @FunctionalInterface
  public interface Body {
    int call(Wasi wasi, GuestMemory memory, long[] args);
  }
}
