package io.krill.ttrpc;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code ttrpc.Request} envelope, coded by hand so this module needs no generated classes:
 * {@code service=1, method=2, payload=3, timeout_nano=4, repeated KeyValue metadata=5}.
 */
record RequestMessage(
    String service,
    String method,
    byte[] payload,
    long timeoutNanos,
    Map<String, List<String>> metadata) {
  private static final int SERVICE = 1;
  private static final int METHOD = 2;
  private static final int PAYLOAD = 3;
  private static final int TIMEOUT = 4;
  private static final int METADATA = 5;
  private static final int KV_KEY = 1;
  private static final int KV_VALUE = 2;

  RequestMessage {
    service = service == null ? "" : service;
    method = method == null ? "" : method;
    payload = payload == null ? new byte[0] : payload;
    metadata = metadata == null ? Map.of() : metadata;
  }

  byte[] encode() {
    // Proto3 omits default values; containerd's Go decoder accepts either form.
    int size = 0;
    if (!service.isEmpty()) {
      size += CodedOutputStream.computeStringSize(SERVICE, service);
    }
    if (!method.isEmpty()) {
      size += CodedOutputStream.computeStringSize(METHOD, method);
    }
    if (payload.length > 0) {
      size += CodedOutputStream.computeByteArraySize(PAYLOAD, payload);
    }
    if (timeoutNanos != 0) {
      size += CodedOutputStream.computeInt64Size(TIMEOUT, timeoutNanos);
    }
    for (Map.Entry<String, List<String>> e : metadata.entrySet()) {
      for (String v : e.getValue()) {
        int kv = keyValueSize(e.getKey(), v);
        size +=
            CodedOutputStream.computeTagSize(METADATA)
                + CodedOutputStream.computeUInt32SizeNoTag(kv)
                + kv;
      }
    }
    byte[] out = new byte[size];
    CodedOutputStream cos = CodedOutputStream.newInstance(out);
    try {
      if (!service.isEmpty()) {
        cos.writeString(SERVICE, service);
      }
      if (!method.isEmpty()) {
        cos.writeString(METHOD, method);
      }
      if (payload.length > 0) {
        cos.writeByteArray(PAYLOAD, payload);
      }
      if (timeoutNanos != 0) {
        cos.writeInt64(TIMEOUT, timeoutNanos);
      }
      for (Map.Entry<String, List<String>> e : metadata.entrySet()) {
        for (String v : e.getValue()) {
          cos.writeTag(METADATA, WireFormat.WIRETYPE_LENGTH_DELIMITED);
          cos.writeUInt32NoTag(keyValueSize(e.getKey(), v));
          if (!e.getKey().isEmpty()) {
            cos.writeString(KV_KEY, e.getKey());
          }
          if (!v.isEmpty()) {
            cos.writeString(KV_VALUE, v);
          }
        }
      }
      cos.checkNoSpaceLeft();
    } catch (IOException e) {
      // Only reachable if the size computation above is wrong.
      throw new UncheckedIOException(e);
    }
    return out;
  }

  static RequestMessage decode(byte[] data) throws InvalidProtocolBufferException {
    CodedInputStream in = CodedInputStream.newInstance(data);
    String service = "";
    String method = "";
    byte[] payload = new byte[0];
    long timeout = 0;
    Map<String, List<String>> metadata = new LinkedHashMap<>();
    try {
      while (true) {
        int tag = in.readTag();
        if (tag == 0) {
          break;
        }
        switch (tag) {
          case SERVICE << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED -> service = in.readString();
          case METHOD << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED -> method = in.readString();
          case PAYLOAD << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED -> payload = in.readByteArray();
          case TIMEOUT << 3 | WireFormat.WIRETYPE_VARINT -> timeout = in.readInt64();
          case METADATA << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED -> readKeyValue(in, metadata);
          default -> skip(in, tag);
        }
      }
    } catch (InvalidProtocolBufferException e) {
      throw e;
    } catch (IOException e) {
      throw new InvalidProtocolBufferException(e);
    }
    metadata.replaceAll((k, v) -> Collections.unmodifiableList(v));
    return new RequestMessage(
        service, method, payload, timeout, Collections.unmodifiableMap(metadata));
  }

  private static void readKeyValue(CodedInputStream in, Map<String, List<String>> into)
      throws IOException {
    int limit = in.pushLimit(in.readRawVarint32());
    String key = "";
    String value = "";
    while (true) {
      int tag = in.readTag();
      if (tag == 0) {
        break;
      }
      switch (tag) {
        case KV_KEY << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED -> key = in.readString();
        case KV_VALUE << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED -> value = in.readString();
        default -> skip(in, tag);
      }
    }
    in.popLimit(limit);
    into.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
  }

  /** Unknown fields are skipped so newer peers can add fields without breaking us. */
  static void skip(CodedInputStream in, int tag) throws IOException {
    if (!in.skipField(tag)) {
      throw new InvalidProtocolBufferException("unexpected end-group tag " + tag);
    }
  }

  private static int keyValueSize(String key, String value) {
    int n = 0;
    if (!key.isEmpty()) {
      n += CodedOutputStream.computeStringSize(KV_KEY, key);
    }
    if (!value.isEmpty()) {
      n += CodedOutputStream.computeStringSize(KV_VALUE, value);
    }
    return n;
  }
}
