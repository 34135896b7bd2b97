package io.krill.cri.streaming;

import io.netty.channel.Channel;
import java.util.function.BooleanSupplier;

/**
 * Back-pressure for a session's writers: a thread copying a guest's or a pod socket's bytes to the
 * client waits while the channel's outbound buffer is over netty's high-water mark, until it drains
 * ({@link #changed}, from {@code channelWritabilityChanged}) or the session is gone.
 */
final class Writability {
  private final Object lock = new Object();

  void await(Channel channel, BooleanSupplier gone) {
    synchronized (lock) {
      while (!channel.isWritable() && !gone.getAsBoolean()) {
        try {
          lock.wait(1000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** The channel's writability changed, or the session ended: waiting writers look again. */
  void changed() {
    synchronized (lock) {
      lock.notifyAll();
    }
  }
}
