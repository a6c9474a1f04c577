/**
 * Client for the QEMU Machine Protocol (QMP) over UNIX or TCP sockets.
 *
 * <p>{@link io.vmmig.qmp.QmpClient} is the entry point; {@link io.vmmig.qmp.QmpException} is the one error root.
 */
package io.vmmig.qmp;
