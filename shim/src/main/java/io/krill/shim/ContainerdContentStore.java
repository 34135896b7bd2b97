package io.krill.shim;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.krill.containerd.services.containers.ContainersGrpc;
import io.krill.containerd.services.containers.GetContainerRequest;
import io.krill.containerd.services.content.ContentGrpc;
import io.krill.containerd.services.content.InfoRequest;
import io.krill.containerd.services.content.ReadContentRequest;
import io.krill.containerd.services.content.ReadContentResponse;
import io.krill.containerd.services.images.GetImageRequest;
import io.krill.containerd.services.images.ImagesGrpc;
import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * {@link ContentStore} over containerd's gRPC API on its unix socket, in the daemon's namespace.
 * The channel is made on first use: most daemons only ever run rootfs modules and should not pay
 * for it.
 */
final class ContainerdContentStore implements ContentStore, AutoCloseable {
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);

  /** Large enough for a 512 MiB layer on a slow disk; a stuck stream still ends. */
  private static final Duration READ_TIMEOUT = Duration.ofMinutes(5);

  private static final Metadata.Key<String> NAMESPACE =
      Metadata.Key.of("containerd-namespace", Metadata.ASCII_STRING_MARSHALLER);

  private final Path socket;
  private final String namespace;
  private EpollEventLoopGroup loop;
  private ManagedChannel channel;

  ContainerdContentStore(Path socket, String namespace) {
    this.socket = socket;
    this.namespace = namespace;
  }

  /** containerd's {@code -address}: a socket path, with or without {@code unix://}. */
  static Path socketOf(String address) {
    return Path.of(address.replaceFirst("^unix://", ""));
  }

  @Override
  public Optional<String> containerImage(String containerId) throws IOException {
    try {
      String image =
          ContainersGrpc.newBlockingStub(channel())
              .withDeadlineAfter(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
              .get(GetContainerRequest.newBuilder().setId(containerId).build())
              .getContainer()
              .getImage();
      return image.isEmpty() ? Optional.empty() : Optional.of(image);
    } catch (StatusRuntimeException e) {
      throw failed("Containers.Get " + containerId, e);
    }
  }

  @Override
  public Descriptor imageTarget(String imageName) throws IOException {
    try {
      var target =
          ImagesGrpc.newBlockingStub(channel())
              .withDeadlineAfter(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
              .get(GetImageRequest.newBuilder().setName(imageName).build())
              .getImage()
              .getTarget();
      return Descriptor.of(
          target.getMediaType(), Digest.parse(target.getDigest()), target.getSize());
    } catch (StatusRuntimeException e) {
      throw failed("Images.Get " + imageName, e);
    } catch (IllegalArgumentException e) {
      throw new IOException("image " + imageName + " has an invalid target: " + e.getMessage(), e);
    }
  }

  @Override
  public InputStream read(Digest digest) throws IOException {
    // The stream is bound to this context, so closing the InputStream early cancels the call.
    Context.CancellableContext context = Context.current().withCancellation();
    try {
      Iterator<ReadContentResponse> chunks =
          context.call(
              () ->
                  ContentGrpc.newBlockingStub(channel())
                      .withDeadlineAfter(READ_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                      .read(ReadContentRequest.newBuilder().setDigest(digest.toString()).build()));
      return new ChunkStream(chunks, context, digest);
    } catch (Exception e) {
      context.cancel(e);
      throw e instanceof StatusRuntimeException s
          ? failed("Content.Read " + digest, s)
          : new IOException("Content.Read " + digest + ": " + e, e);
    }
  }

  @Override
  public boolean has(Digest digest) throws IOException {
    try {
      ContentGrpc.newBlockingStub(channel())
          .withDeadlineAfter(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          .info(InfoRequest.newBuilder().setDigest(digest.toString()).build());
      return true;
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
        return false;
      }
      throw failed("Content.Info " + digest, e);
    }
  }

  private synchronized ManagedChannel channel() {
    if (channel == null) {
      loop = new EpollEventLoopGroup(1);
      Metadata headers = new Metadata();
      headers.put(NAMESPACE, namespace);
      channel =
          NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
              .channelType(EpollDomainSocketChannel.class)
              .eventLoopGroup(loop)
              .usePlaintext()
              .intercept(MetadataUtils.newAttachHeadersInterceptor(headers))
              .build();
    }
    return channel;
  }

  private static IOException failed(String call, StatusRuntimeException e) {
    Status s = e.getStatus();
    String message =
        call
            + ": "
            + s.getCode()
            + (s.getDescription() == null ? "" : " (" + s.getDescription() + ")");
    return s.getCode() == Status.Code.NOT_FOUND
        ? new ContentStore.NotFound(message, e)
        : new IOException(message, e);
  }

  @Override
  public synchronized void close() {
    if (channel != null) {
      channel.shutdownNow();
      loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  /** The server stream's chunks as one InputStream. */
  private static final class ChunkStream extends InputStream {
    private final Iterator<ReadContentResponse> chunks;
    private final Context.CancellableContext context;
    private final Digest digest;
    private byte[] chunk = new byte[0];
    private int pos;

    ChunkStream(
        Iterator<ReadContentResponse> chunks, Context.CancellableContext context, Digest digest) {
      this.chunks = chunks;
      this.context = context;
      this.digest = digest;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        while (pos == chunk.length) {
          if (!chunks.hasNext()) {
            return -1;
          }
          chunk = chunks.next().getData().toByteArray();
          pos = 0;
        }
      } catch (StatusRuntimeException e) {
        throw failed("Content.Read " + digest, e);
      }
      int n = Math.min(len, chunk.length - pos);
      System.arraycopy(chunk, pos, b, off, n);
      pos += n;
      return n;
    }

    @Override
    public void close() {
      context.cancel(null);
    }
  }
}
