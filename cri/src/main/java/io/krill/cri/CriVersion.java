package io.krill.cri;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** krill's version, filtered into a resource at build time so the daemon and the release agree. */
final class CriVersion {
  static final String RUNTIME_NAME = "krill";
  static final String CRI_VERSION = "0.1.0";
  static final String API_VERSION = "v1";

  private CriVersion() {}

  static String krill() {
    try (InputStream in = CriVersion.class.getResourceAsStream("version.properties")) {
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
