package io.krill.cri.core;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** krill's version, filtered into a resource at build time so the daemon and the release agree. */
public final class CriVersion {
  public static final String RUNTIME_NAME = "krill";
  public static final String CRI_VERSION = "0.1.0";
  public static final String API_VERSION = "v1";

  private CriVersion() {}

  public static String krill() {
    try (InputStream in =
        CriVersion.class.getResourceAsStream("/io/krill/cri/version.properties")) {
      Properties p = new Properties();
      if (in != null) {
        p.load(in);
      }
      return p.getProperty("version", "unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }
}
