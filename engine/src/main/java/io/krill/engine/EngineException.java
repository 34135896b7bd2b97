package io.krill.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * An engine's refusal, with a message for the user that names the container. The core turns it into
 * its own error: {@link Kind#INVALID_MODULE} is the user's to fix (invalid argument), {@link
 * Kind#INTERNAL} is the engine's or the host's.
 */
public final class EngineException extends RuntimeException {
  public enum Kind {
    INVALID_MODULE,
    /** The daemon lacks what the module needs (its compile would not fit the Java heap). */
    RESOURCE_EXHAUSTED,
    INTERNAL
  }

  private final Kind kind;

  public EngineException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public EngineException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  /** The engine could not read or validate the module: the user rebuilds it. */
  public static EngineException invalidModule(
      String containerId, String modulePath, Throwable cause) {
    return new EngineException(
        Kind.INVALID_MODULE,
        "container "
            + containerId
            + ": module "
            + modulePath
            + " is not a valid WebAssembly module: "
            + firstLine(cause.getMessage())
            + " (rebuild it for wasm32-wasi / wasm32-wasip1)",
        cause);
  }

  /** How many wasm backtrace frames a trap's message keeps. */
  public static final int BACKTRACE_FRAMES = 20;

  /**
   * A trap's message from an engine's multi-line one ("error while executing at wasm backtrace:
   * frames, then "Caused by:" and the cause"): the cause first, then at most {@link
   * #BACKTRACE_FRAMES} frames of the wasm backtrace.
   */
  public static String trapMessage(String s) {
    if (s == null) {
      return "unknown error";
    }
    List<String> lines = s.lines().toList();
    List<String> frames = new ArrayList<>();
    List<String> cause = new ArrayList<>();
    List<String> head = new ArrayList<>();
    List<String> into = head;
    for (String line : lines) {
      String t = line.strip();
      if (t.endsWith("wasm backtrace:")) {
        String before = t.substring(0, t.length() - "wasm backtrace:".length()).strip();
        if (!before.isEmpty() && !before.equals("error while executing at")) {
          head.add(before);
        }
        into = frames;
      } else if (t.equals("Caused by:")) {
        into = cause;
      } else if (into == cause && !t.isEmpty()) {
        // Several causes are numbered ("0: outer", "1: inner"); one is not.
        into.add(t.replaceFirst("^\\d+: ", ""));
      } else if (!t.isEmpty() && !t.startsWith("note: using the `WASMTIME_BACKTRACE_DETAILS")) {
        into.add(t);
      }
    }
    StringBuilder b = new StringBuilder();
    List<String> first = cause.isEmpty() ? head : cause;
    b.append(first.isEmpty() ? firstLine(s) : String.join(": ", first));
    if (!cause.isEmpty() && !head.isEmpty()) {
      b.append(" (").append(String.join(": ", head)).append(')');
    }
    if (!frames.isEmpty()) {
      b.append("\nwasm backtrace:");
      frames.stream().limit(BACKTRACE_FRAMES).forEach(f -> b.append("\n  ").append(f));
      if (frames.size() > BACKTRACE_FRAMES) {
        b.append("\n  ... ").append(frames.size() - BACKTRACE_FRAMES).append(" more frames");
      }
    }
    return b.toString();
  }

  /** The first line of an engine's (often multi-line) message. */
  public static String firstLine(String s) {
    if (s == null) {
      return "unknown error";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
