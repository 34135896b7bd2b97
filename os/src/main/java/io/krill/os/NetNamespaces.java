package io.krill.os;

import com.sun.jna.Native;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Work done inside another network namespace (a pod's, at the path the OCI spec names). On Linux a
 * thread's network namespace is its own: {@link #run} does the work on a fresh thread that
 * setns(2)s into the namespace first and then ends, so no thread of the daemon stays in it. A
 * socket keeps the namespace it was created in for its whole life.
 */
public final class NetNamespaces {
  private static final int CLONE_NEWNET = 0x40000000;
  private static final int O_RDONLY = 0;
  private static final int O_CLOEXEC = 02000000;

  private NetNamespaces() {}

  /** The work's result; run in the namespace at {@code path}, or here when it is null. */
  public static <T> T run(String path, Callable<T> work) throws IOException {
    if (path == null) {
      return call(work);
    }
    AtomicReference<T> result = new AtomicReference<>();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread t =
        new Thread(
            () -> {
              try {
                enter(path);
                result.set(call(work));
              } catch (Throwable e) {
                failure.set(e);
              }
            },
            "krill-netns");
    t.setDaemon(true);
    t.start();
    try {
      t.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while working in network namespace " + path, e);
    }
    Throwable e = failure.get();
    if (e instanceof IOException io) {
      throw io;
    }
    if (e instanceof RuntimeException re) {
      throw re;
    }
    if (e instanceof Error err) {
      throw err;
    }
    return result.get();
  }

  /**
   * A TCP socket listening on {@code address}, created and bound in the network namespace at {@code
   * path} (null: this process's).
   */
  public static ServerSocketChannel listen(String path, InetSocketAddress address)
      throws IOException {
    return run(
        path,
        () -> {
          ServerSocketChannel ch =
              ServerSocketChannel.open(
                  address.getAddress() instanceof Inet6Address
                      ? StandardProtocolFamily.INET6
                      : StandardProtocolFamily.INET);
          try {
            ch.bind(address, 128);
            return ch;
          } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
          }
        });
  }

  /**
   * A TCP connection to {@code address}, made from the network namespace at {@code path} (null:
   * this process's); the socket is in blocking mode.
   */
  public static SocketChannel connect(String path, InetSocketAddress address) throws IOException {
    return run(
        path,
        () -> {
          SocketChannel ch =
              SocketChannel.open(
                  address.getAddress() instanceof Inet6Address
                      ? StandardProtocolFamily.INET6
                      : StandardProtocolFamily.INET);
          try {
            ch.connect(address);
            return ch;
          } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
          }
        });
  }

  private static void enter(String path) throws IOException {
    int fd = LibC.INSTANCE.open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      throw new IOException(
          "cannot open network namespace " + path + ": errno " + Native.getLastError());
    }
    try {
      if (LibC.INSTANCE.setns(fd, CLONE_NEWNET) != 0) {
        throw new IOException(
            "cannot enter network namespace " + path + ": errno " + Native.getLastError());
      }
    } finally {
      LibC.INSTANCE.close(fd);
    }
  }

  private static <T> T call(Callable<T> work) throws IOException {
    try {
      return work.call();
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException(e);
    }
  }
}
