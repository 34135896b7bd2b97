package io.krill.cri.grpc;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

/**
 * gRPC on a unix socket that only root may use: whoever can talk CRI can run code on the node. The
 * socket's directory is created 0700 so there is no window between bind and chmod in which another
 * user could connect.
 */
public final class CriServer implements AutoCloseable {
  /** kubelet sends and accepts up to 16 MiB (ListContainers on a busy node). */
  private static final int MAX_MESSAGE = 16 << 20;

  private final EpollEventLoopGroup boss = new EpollEventLoopGroup(1);
  private final EpollEventLoopGroup workers = new EpollEventLoopGroup(2);
  private final Server server;
  private final Path socket;

  public CriServer(Path socket, BindableService... services) throws IOException {
    this.socket = socket;
    Path dir = socket.toAbsolutePath().getParent();
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(
          dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    // A stale socket from a crashed daemon would make bind fail; a live one is the caller's to
    // check.
    Files.deleteIfExists(socket);
    NettyServerBuilder b =
        NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollServerDomainSocketChannel.class)
            .bossEventLoopGroup(boss)
            .workerEventLoopGroup(workers)
            // grpc-java sets TCP keepalive on every accepted channel; a unix socket has none, and
            // netty would log two warnings per connection saying so. null removes the option.
            .withChildOption(ChannelOption.SO_KEEPALIVE, null)
            .maxInboundMessageSize(MAX_MESSAGE);
    for (BindableService s : services) {
      b.addService(s);
    }
    server = b.build().start();
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  @Override
  public void close() {
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    try {
      Files.deleteIfExists(socket);
    } catch (IOException ignored) {
      // the next start removes it
    }
  }
}
