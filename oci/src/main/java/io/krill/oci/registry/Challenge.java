package io.krill.oci.registry;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parsed {@code WWW-Authenticate} header: {@code Bearer realm="…",service="…",scope="…"} or
 * {@code Basic …}.
 */
record Challenge(String scheme, Map<String, String> params) {
  private static final Pattern PARAM = Pattern.compile("([A-Za-z]+)=(?:\"([^\"]*)\"|([^,\\s]*))");

  Challenge {
    params = Map.copyOf(params);
  }

  static Challenge parse(String header) {
    if (header == null || header.isBlank()) {
      return null;
    }
    String h = header.strip();
    int sp = h.indexOf(' ');
    String scheme = (sp < 0 ? h : h.substring(0, sp)).toLowerCase(Locale.ROOT);
    Map<String, String> params = new LinkedHashMap<>();
    if (sp > 0) {
      Matcher m = PARAM.matcher(h.substring(sp + 1));
      while (m.find()) {
        params.put(
            m.group(1).toLowerCase(Locale.ROOT), m.group(2) != null ? m.group(2) : m.group(3));
      }
    }
    return new Challenge(scheme, params);
  }

  boolean isBearer() {
    return scheme.equals("bearer");
  }

  boolean isBasic() {
    return scheme.equals("basic");
  }
}
