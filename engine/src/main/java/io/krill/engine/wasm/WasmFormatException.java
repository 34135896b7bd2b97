package io.krill.engine.wasm;

/** The bytes are not a core WebAssembly module krill can run; the message says why. */
public class WasmFormatException extends Exception {
  public WasmFormatException(String message) {
    super(message);
  }
}
