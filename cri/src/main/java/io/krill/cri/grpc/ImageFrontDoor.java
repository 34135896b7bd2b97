package io.krill.cri.grpc;

import io.grpc.stub.StreamObserver;
import io.krill.cri.api.v1.AuthConfig;
import io.krill.cri.api.v1.FilesystemIdentifier;
import io.krill.cri.api.v1.FilesystemUsage;
import io.krill.cri.api.v1.Image;
import io.krill.cri.api.v1.ImageFsInfoRequest;
import io.krill.cri.api.v1.ImageFsInfoResponse;
import io.krill.cri.api.v1.ImageServiceGrpc;
import io.krill.cri.api.v1.ImageSpec;
import io.krill.cri.api.v1.ImageStatusRequest;
import io.krill.cri.api.v1.ImageStatusResponse;
import io.krill.cri.api.v1.Int64Value;
import io.krill.cri.api.v1.ListImagesRequest;
import io.krill.cri.api.v1.ListImagesResponse;
import io.krill.cri.api.v1.PullImageRequest;
import io.krill.cri.api.v1.PullImageResponse;
import io.krill.cri.api.v1.RemoveImageRequest;
import io.krill.cri.api.v1.RemoveImageResponse;
import io.krill.cri.api.v1.UInt64Value;
import io.krill.cri.image.ImageStore;
import io.krill.cri.image.StoredImage;
import io.krill.oci.registry.Credentials;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.function.Predicate;

/** runtime.v1.ImageService: protobuf in, {@link ImageStore} calls, protobuf out. */
public final class ImageFrontDoor extends ImageServiceGrpc.ImageServiceImplBase {
  private final ImageStore store;
  private final Predicate<StoredImage> inUse;

  public ImageFrontDoor(ImageStore store, Predicate<StoredImage> inUse) {
    this.store = store;
    this.inUse = inUse;
  }

  @Override
  public void pullImage(PullImageRequest req, StreamObserver<PullImageResponse> out) {
    GrpcErrors.unary(
        "PullImage",
        out,
        () -> {
          StoredImage image = store.pull(name(req.getImage()), credentials(req.getAuth()));
          return PullImageResponse.newBuilder().setImageRef(image.id()).build();
        });
  }

  /**
   * The request's login: an identity token (an OAuth2 refresh token, with the username if one came
   * with it), a registry token (a bearer token sent as is), a username and password, or docker's
   * base64 {@code auth}. Tokens come first: docker's credential helpers pair an identity token with
   * a placeholder username.
   */
  static Credentials credentials(AuthConfig auth) {
    if (!auth.getIdentityToken().isEmpty()) {
      return Credentials.identityToken(auth.getUsername(), auth.getIdentityToken());
    }
    if (!auth.getRegistryToken().isEmpty()) {
      return Credentials.registryToken(auth.getRegistryToken());
    }
    if (!auth.getUsername().isEmpty()) {
      return Credentials.of(auth.getUsername(), auth.getPassword());
    }
    if (!auth.getAuth().isEmpty()) {
      String decoded;
      try {
        decoded = new String(Base64.getDecoder().decode(auth.getAuth()), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        decoded = "";
      }
      int colon = decoded.indexOf(':');
      if (colon <= 0) {
        throw new KrillException(ErrorCode.INVALID_ARGUMENT, "auth is not base64 of user:password");
      }
      return Credentials.of(decoded.substring(0, colon), decoded.substring(colon + 1));
    }
    return null;
  }

  @Override
  public void imageStatus(ImageStatusRequest req, StreamObserver<ImageStatusResponse> out) {
    GrpcErrors.unary(
        "ImageStatus",
        out,
        () -> {
          ImageStatusResponse.Builder b = ImageStatusResponse.newBuilder();
          store
              .find(name(req.getImage()))
              .ifPresent(
                  i -> {
                    b.setImage(toProto(i));
                    if (req.getVerbose()) {
                      b.putInfo("info", store.verboseInfo(i));
                    }
                  });
          return b.build();
        });
  }

  @Override
  public void listImages(ListImagesRequest req, StreamObserver<ListImagesResponse> out) {
    GrpcErrors.unary(
        "ListImages",
        out,
        () -> {
          String filter = req.getFilter().getImage().getImage();
          ListImagesResponse.Builder b = ListImagesResponse.newBuilder();
          if (filter.isEmpty()) {
            store.list().forEach(i -> b.addImages(toProto(i)));
          } else {
            store.find(filter).ifPresent(i -> b.addImages(toProto(i)));
          }
          return b.build();
        });
  }

  @Override
  public void removeImage(RemoveImageRequest req, StreamObserver<RemoveImageResponse> out) {
    GrpcErrors.unary(
        "RemoveImage",
        out,
        () -> {
          store.remove(name(req.getImage()), inUse);
          return RemoveImageResponse.getDefaultInstance();
        });
  }

  @Override
  public void imageFsInfo(ImageFsInfoRequest req, StreamObserver<ImageFsInfoResponse> out) {
    GrpcErrors.unary(
        "ImageFsInfo",
        out,
        () -> {
          long[] usage = store.usage();
          FilesystemUsage fs =
              FilesystemUsage.newBuilder()
                  .setTimestamp(System.currentTimeMillis() * 1_000_000L)
                  .setFsId(
                      FilesystemIdentifier.newBuilder()
                          .setMountpoint(store.dir().toAbsolutePath().toString()))
                  .setUsedBytes(UInt64Value.newBuilder().setValue(usage[0]))
                  .setInodesUsed(UInt64Value.newBuilder().setValue(usage[1]))
                  .build();
          return ImageFsInfoResponse.newBuilder().addImageFilesystems(fs).build();
        });
  }

  private static String name(ImageSpec spec) {
    if (spec.getImage().isEmpty()) {
      throw new KrillException(ErrorCode.INVALID_ARGUMENT, "no image named");
    }
    return spec.getImage();
  }

  static Image toProto(StoredImage i) {
    Image.Builder b =
        Image.newBuilder()
            .setId(i.id())
            .addAllRepoTags(i.repoTags())
            .addAllRepoDigests(i.repoDigests())
            .setSize(i.size())
            .setUsername(i.username())
            .setSpec(ImageSpec.newBuilder().setImage(i.id()));
    i.uid().ifPresent(uid -> b.setUid(Int64Value.newBuilder().setValue(uid)));
    return b.build();
  }
}
