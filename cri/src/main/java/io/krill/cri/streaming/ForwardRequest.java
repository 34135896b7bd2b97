package io.krill.cri.streaming;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.List;

/**
 * A CRI PortForward call, kept until its client connects to the URL it was given: the pod, the
 * ports the call named, and how to reach a port of the pod. Over SPDY the client may forward any
 * number of connections, to any ports, over the one upgraded connection; over WebSocket it gets one
 * connection to each port the call named.
 */
public record ForwardRequest(String podId, List<Integer> ports, Forwarder forwarder)
    implements Issued {
  /** Connects to a port of the pod, as a process inside it would reach {@code localhost:port}. */
  @FunctionalInterface
  public interface Forwarder {
    /**
     * A connected, blocking socket; an IOException whose message says what failed and what to do.
     */
    SocketChannel connect(int port) throws IOException;
  }

  public ForwardRequest {
    ports = List.copyOf(ports);
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
