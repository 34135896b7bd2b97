package io.krill.cri.streaming;

import java.io.IOException;
import java.nio.channels.SocketChannel;

/**
 * A CRI PortForward call, kept until its client connects to the URL it was given: the pod, and how
 * to reach one of its ports. The client may forward any number of connections, to any ports, over
 * the one upgraded connection (Kubernetes' {@code portforward.k8s.io} protocol).
 */
public record ForwardRequest(String podId, Forwarder forwarder) implements Issued {
  /** Connects to a port of the pod, as a process inside it would reach {@code localhost:port}. */
  @FunctionalInterface
  public interface Forwarder {
    /**
     * A connected, blocking socket; an IOException whose message says what failed and what to do.
     */
    SocketChannel connect(int port) throws IOException;
  }

  @Override
  public String path() {
    return "portforward";
  }

  @Override
  public String owner() {
    return "pod " + podId;
  }
}
