package io.krill.oci.image;

import java.util.List;

/**
 * How an image carries its wasm module. Detected from the manifest's media types (and the config's
 * platform), never from the layer bytes, so it can be decided before anything large is fetched.
 */
public enum WasmShape {
  /**
   * Ordinary tar layers; the module is a file in the rootfs named by the entrypoint (runwasi's path
   * 2).
   */
  TAR_LAYERS("tar-layer image: the module is a file in the root filesystem"),
  /**
   * CNCF TAG-Runtime layout: config {@value MediaTypes#WASM_CONFIG_V0}, one {@value
   * MediaTypes#WASM_LAYER} layer.
   */
  CNCF_ARTIFACT("CNCF wasm OCI artifact (application/vnd.wasm.config.v0+json, application/wasm)"),
  /**
   * runwasi's oci-tar-builder: an OCI image config (wasip1/wasm) with wasm layers instead of tars.
   */
  RUNWASI_LAYERS("runwasi wasm-layer image (OCI image config, wasm layers)"),
  /** wasm-to-oci / oci-distribution: {@value MediaTypes#WASM_CONTENT_LAYER_V1}. */
  WASM_TO_OCI("wasm-to-oci artifact (application/vnd.wasm.content.layer.v1+wasm)"),
  /** Anything else: not something krill can run. */
  UNKNOWN("not a recognised wasm image");

  private final String description;

  WasmShape(String description) {
    this.description = description;
  }

  public String description() {
    return description;
  }

  /**
   * Whether the module is a layer blob (rather than a file that containerd unpacks into a rootfs).
   */
  public boolean isArtifact() {
    return this == CNCF_ARTIFACT || this == RUNWASI_LAYERS || this == WASM_TO_OCI;
  }

  public static WasmShape detect(Manifest m) {
    List<Descriptor> layers = m.layers();
    String config = m.config().mediaType();
    if (layers.isEmpty()) {
      return UNKNOWN;
    }
    if (layers.stream().allMatch(l -> MediaTypes.TAR_LAYERS.contains(l.mediaType()))) {
      return TAR_LAYERS;
    }
    boolean allWasm = layers.stream().allMatch(l -> MediaTypes.WASM_LAYERS.contains(l.mediaType()));
    if (!allWasm) {
      return UNKNOWN;
    }
    if (config.equals(MediaTypes.WASM_CONFIG_V0)) {
      return CNCF_ARTIFACT;
    }
    if (config.equals(MediaTypes.OCI_CONFIG) || config.equals(MediaTypes.DOCKER_CONFIG)) {
      return RUNWASI_LAYERS;
    }
    if (config.equals(MediaTypes.WASM_CONFIG_V1)
        || layers.stream().anyMatch(l -> l.mediaType().equals(MediaTypes.WASM_CONTENT_LAYER_V1))) {
      return WASM_TO_OCI;
    }
    return UNKNOWN;
  }

  /**
   * The single wasm layer an artifact runs. The CNCF layout says a consumer seeing more than one
   * layer should reject it; a component layer is refused because krill runs core modules only.
   */
  public static Descriptor moduleLayer(Manifest m) {
    List<Descriptor> wasm =
        m.layers().stream().filter(l -> MediaTypes.WASM_LAYERS.contains(l.mediaType())).toList();
    if (wasm.isEmpty()) {
      throw new IllegalArgumentException(
          "the manifest has no wasm layer (media types "
              + m.layers().stream().map(Descriptor::mediaType).toList()
              + ")");
    }
    if (wasm.size() > 1) {
      throw new IllegalArgumentException(
          "the manifest has "
              + wasm.size()
              + " wasm layers; only a single module per image is supported");
    }
    return wasm.get(0);
  }
}
