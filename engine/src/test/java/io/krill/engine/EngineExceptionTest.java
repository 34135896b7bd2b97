package io.krill.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class EngineExceptionTest {
  @Test
  void trapMessage_wasmtimeChain_causeFirstThenBacktrace() {
    String wasmtime =
        "error while executing at wasm backtrace:\n"
            + "    0:   0x5a - <unknown>!main\n"
            + "    1:   0x7b - <unknown>!_start\n"
            + "note: using the `WASMTIME_BACKTRACE_DETAILS=1` environment variable may show more"
            + " debugging information\n"
            + "\n"
            + "Caused by:\n"
            + "    wasm trap: integer divide by zero";
    assertEquals(
        "wasm trap: integer divide by zero\n"
            + "wasm backtrace:\n"
            + "  0:   0x5a - <unknown>!main\n"
            + "  1:   0x7b - <unknown>!_start",
        EngineException.trapMessage(wasmtime));
  }

  @Test
  void trapMessage_longBacktrace_keepsTheFirstFrames() {
    String frames =
        IntStream.range(0, 25)
            .mapToObj(i -> "    " + i + ": 0x" + i + " - <unknown>!f" + i)
            .collect(Collectors.joining("\n"));
    String m =
        EngineException.trapMessage(
            "error while executing at wasm backtrace:\n"
                + frames
                + "\n\nCaused by:\n    wasm trap: call stack exhausted");
    String[] lines = m.split("\n");
    assertEquals("wasm trap: call stack exhausted", lines[0]);
    assertEquals(3 + EngineException.BACKTRACE_FRAMES, lines.length);
    assertEquals("  ... 5 more frames", lines[lines.length - 1]);
  }

  @Test
  void trapMessage_severalCauses_outerToInnerWithoutTheirNumbers() {
    assertEquals(
        "host function failed: wasm trap: out of bounds memory access\n"
            + "wasm backtrace:\n"
            + "  0:   0x5a - <unknown>!main",
        EngineException.trapMessage(
            "error while executing at wasm backtrace:\n"
                + "    0:   0x5a - <unknown>!main\n\n"
                + "Caused by:\n"
                + "    0: host function failed\n"
                + "    1: wasm trap: out of bounds memory access"));
  }

  @Test
  void trapMessage_oneLine_asItIs() {
    assertEquals("wasm trap: interrupt", EngineException.trapMessage("wasm trap: interrupt"));
  }
}
