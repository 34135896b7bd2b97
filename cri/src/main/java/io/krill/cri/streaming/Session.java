package io.krill.cri.streaming;

import java.io.InputStream;
import java.io.OutputStream;

/**
 * What runs once a client has connected to a streaming URL: an exec or an attach, given the streams
 * the client opened. It returns how it ended; the server reports that on the error stream.
 */
@FunctionalInterface
public interface Session {
  Outcome run(Streams streams) throws Exception;

  /**
   * The client's streams. {@code stdin} is null unless requested; {@code stdout} and {@code stderr}
   * are null unless requested; with a tty there is no stderr and all output goes to stdout. {@link
   * #onClientGone} runs once if the client disconnects before the session ends.
   */
  interface Streams {
    InputStream stdin();

    OutputStream stdout();

    OutputStream stderr();

    boolean tty();

    void onClientGone(Runnable action);
  }

  /** How a session ended. */
  sealed interface Outcome {
    record Success() implements Outcome {}

    /** The command ran and exited with a non-zero code. */
    record Exited(int code) implements Outcome {}

    /**
     * The command could not run or the session failed; the message names the container and what to
     * do.
     */
    record Failed(String message) implements Outcome {}

    static Outcome ofExit(int code) {
      return code == 0 ? new Success() : new Exited(code);
    }
  }
}
