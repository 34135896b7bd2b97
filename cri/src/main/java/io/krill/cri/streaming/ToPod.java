package io.krill.cri.streaming;

import io.netty.channel.Channel;
import java.util.ArrayDeque;

/**
 * A forwarded connection's bytes from the client for the pod: queued by the event loop, taken by
 * the connection's writer thread. The client's connection is paused while more than a high-water
 * mark waits (a pod that does not read) and resumed once it has caught up.
 */
final class ToPod {
  private final ArrayDeque<byte[]> chunks = new ArrayDeque<>();
  private final Channel channel;
  private final int highWater;
  private int queued;
  private boolean eof;

  ToPod(Channel channel, int highWater) {
    this.channel = channel;
    this.highWater = highWater;
  }

  /** Queues {@code b} unless finished; pauses the connection above the high-water mark. */
  synchronized void offer(byte[] b) {
    if (!eof) {
      chunks.add(b);
      queued += b.length;
      notifyAll();
      if (queued > highWater) {
        channel.config().setAutoRead(false);
      }
    }
  }

  /** The client has sent all it will. */
  synchronized void finish() {
    eof = true;
    notifyAll();
  }

  /** Drops what the pod will never read, resuming the connection if those bytes had paused it. */
  synchronized void discard() {
    chunks.clear();
    queued = 0;
    finish();
    if (!channel.config().isAutoRead()) {
      channel.config().setAutoRead(true);
    }
  }

  /** The next chunk, or null once the client has finished (or the connection ended). */
  synchronized byte[] take() throws InterruptedException {
    while (chunks.isEmpty() && !eof) {
      wait();
    }
    byte[] b = chunks.poll();
    if (b != null) {
      queued -= b.length;
      if (queued < highWater / 2 && !channel.config().isAutoRead()) {
        channel.config().setAutoRead(true);
      }
    }
    return b;
  }
}
