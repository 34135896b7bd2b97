package io.krill.cri.streaming;

/**
 * What a streaming URL was issued for, kept until its client connects: an exec or attach ({@link
 * StreamRequest}) or a port forward ({@link ForwardRequest}).
 */
interface Issued {
  /** The first path segment of its URL, as in kubelet's own streaming server. */
  String path();

  /** Whose it is, for messages: "container ID" or "pod ID". */
  String owner();
}
