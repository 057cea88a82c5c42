package dev.afd.gateway.http;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;

/**
 * What is known of a request once its headers have arrived, before any of its body is read.
 *
 * @param path the decoded path, without the query string
 */
public record RequestHead(HttpMethod method, String path, HttpHeaders headers) {}
