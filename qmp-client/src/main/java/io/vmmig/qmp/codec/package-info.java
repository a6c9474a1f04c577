/** QMP wire decoding, independent of any transport: bytes in, classified messages out. */
package io.vmmig.qmp.codec;
