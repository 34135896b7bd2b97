package io.krill.it.harness;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.krill.cri.api.v1.ImageServiceGrpc;
import io.krill.cri.api.v1.RuntimeServiceGrpc;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The kubelet's side of CRI: blocking gRPC stubs on containerd's socket. Every call gets its own
 * deadline, so a runtime that hangs fails the test instead of stalling it.
 */
public final class CriClient implements AutoCloseable {
  public static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

  /** kubelet's limit, which ListContainers on a busy node needs. */
  private static final int MAX_MESSAGE = 16 << 20;

  private final EpollEventLoopGroup loop = new EpollEventLoopGroup(1);
  private final ManagedChannel channel;

  public CriClient(Path socket) {
    channel =
        NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollDomainSocketChannel.class)
            .eventLoopGroup(loop)
            .maxInboundMessageSize(MAX_MESSAGE)
            .usePlaintext()
            .build();
  }

  public RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime() {
    return runtime(CALL_TIMEOUT);
  }

  public RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime(Duration timeout) {
    return RuntimeServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  public ImageServiceGrpc.ImageServiceBlockingStub images() {
    return ImageServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
