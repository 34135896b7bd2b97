package io.krill.cri.streaming;

/**
 * A CRI Exec or Attach call, kept until its client connects to the URL it was given: which streams
 * the client will open, and what to run then.
 */
public record StreamRequest(
    Kind kind,
    String containerId,
    boolean stdin,
    boolean stdout,
    boolean stderr,
    boolean tty,
    Session session)
    implements Issued {
  /** The path prefix of the URL, as in kubelet's own streaming server. */
  public enum Kind {
    EXEC("exec"),
    ATTACH("attach");

    final String path;

    Kind(String path) {
      this.path = path;
    }
  }

  @Override
  public String path() {
    return kind.path;
  }

  @Override
  public String owner() {
    return "container " + containerId;
  }

  public StreamRequest {
    if (!stdin && !stdout && !stderr) {
      throw new IllegalArgumentException(
          "container " + containerId + ": one of stdin, stdout or stderr must be requested");
    }
    if (tty && stderr) {
      throw new IllegalArgumentException(
          "container "
              + containerId
              + ": with a tty, stderr is joined to stdout; request stdout only (crictl and kubectl do so with -t)");
    }
  }
}
