package io.krill.oci.image;

import java.util.Set;

/** The media types krill reads and writes, including the wasm ones seen in the wild. */
public final class MediaTypes {
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  public static final String OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
  public static final String OCI_LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
  public static final String DOCKER_MANIFEST_LIST =
      "application/vnd.docker.distribution.manifest.list.v2+json";
  public static final String DOCKER_MANIFEST =
      "application/vnd.docker.distribution.manifest.v2+json";
  public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
  public static final String DOCKER_LAYER_TAR_GZIP =
      "application/vnd.docker.image.rootfs.diff.tar.gzip";

  /** CNCF TAG-Runtime wasm artifact: config. */
  public static final String WASM_CONFIG_V0 = "application/vnd.wasm.config.v0+json";

  /** CNCF TAG-Runtime wasm artifact: the (single) layer. */
  public static final String WASM_LAYER = "application/wasm";

  /** runwasi's oci-tar-builder: a wasm layer beside an ordinary image config. */
  public static final String WASM_COMPONENT_LAYER_V0 =
      "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm";

  /** wasm-to-oci / oci-distribution (krustlet, spin registry push). */
  public static final String WASM_CONTENT_LAYER_V1 = "application/vnd.wasm.content.layer.v1+wasm";

  public static final String WASM_CONFIG_V1 = "application/vnd.wasm.config.v1+json";

  public static final Set<String> MANIFESTS = Set.of(OCI_MANIFEST, DOCKER_MANIFEST);
  public static final Set<String> INDEXES = Set.of(OCI_INDEX, DOCKER_MANIFEST_LIST);
  public static final Set<String> WASM_LAYERS =
      Set.of(WASM_LAYER, WASM_COMPONENT_LAYER_V0, WASM_CONTENT_LAYER_V1);
  public static final Set<String> TAR_LAYERS =
      Set.of(OCI_LAYER_TAR, OCI_LAYER_TAR_GZIP, DOCKER_LAYER_TAR_GZIP);

  private MediaTypes() {}

  public static boolean isGzip(String layerMediaType) {
    return layerMediaType.endsWith("+gzip") || layerMediaType.endsWith(".tar.gzip");
  }
}
