/* Wire protocol v2 constants. Must match firmware_bridge/PROTOCOL.md and firmware_bridge/messages.py. */
#ifndef FW_PROTOCOL_H
#define FW_PROTOCOL_H

#define FW_PROTO_VERSION 2u
#define FW_HDR_LEN 18u
#define FW_TAG_LEN 8u
#define FW_CRC_LEN 2u
#define FW_MAX_PAYLOAD 32u
#define FW_MAX_FRAME (FW_HDR_LEN + FW_MAX_PAYLOAD + FW_TAG_LEN + FW_CRC_LEN)
#define FW_MAX_ENCODED (FW_MAX_FRAME + 2u)
#define FW_FLAG_AUTH 0x01u
#define FW_BROADCAST_ID 0xFFFFu
#define FW_KEY_MAX 64u
/* A sender starts a new session before its sequence number passes this mark, so numbers never wrap. */
#define FW_SESSION_HIGH_WATER 0xFFFF0000u

/* message types */
#define FW_MSG_SET_VELOCITY 0x01u
#define FW_MSG_SET_MOTORS 0x02u
#define FW_MSG_ARM 0x03u
#define FW_MSG_DISARM 0x04u
#define FW_MSG_ESTOP 0x05u
#define FW_MSG_CLEAR_ESTOP 0x06u
#define FW_MSG_HEARTBEAT 0x07u
#define FW_MSG_NEW_SESSION 0x08u
#define FW_MSG_TELEMETRY 0x10u
#define FW_MSG_ACK 0x11u
#define FW_MSG_NACK 0x12u
#define FW_MSG_SESSION_START 0x13u

/* nack reasons */
#define FW_NACK_AUTH 1u
#define FW_NACK_REPLAY 2u
#define FW_NACK_NOT_ARMED 3u
#define FW_NACK_ESTOPPED 4u
#define FW_NACK_BAD_LENGTH 5u
#define FW_NACK_UNKNOWN_TYPE 6u
#define FW_NACK_BAD_VERSION 7u
#define FW_NACK_OUT_OF_RANGE 8u
#define FW_NACK_STALE 9u
#define FW_NACK_SESSION 10u

/* telemetry status flags */
#define FW_ST_ARMED 0x0001u
#define FW_ST_ESTOP 0x0002u
#define FW_ST_WATCHDOG 0x0004u
#define FW_ST_MOVING 0x0008u
#define FW_ST_AUTH 0x0010u
#define FW_ST_HOST_LOST 0x0020u
#define FW_ST_LOW_BATTERY 0x0040u

/* timing and limits applied on the MCU */
#define FW_WATCHDOG_MS 200u      /* contract: motors stopped no later than this after the last valid command */
#define FW_WATCHDOG_TRIP_MS 150u /* trip point: 50 ms margin for tick jitter and a late main loop under load */
#define FW_TELEMETRY_MS 20u      /* 50 Hz */
#define FW_HOST_LOST_MS 500u
#define FW_MAX_V 1.0f            /* m/s */
#define FW_MAX_W 2.0f            /* rad/s */
#define FW_MAX_ACC 2.0f          /* m/s^2 */
#define FW_MAX_ALPHA 8.0f        /* rad/s^2 */
#define FW_TRACK_M 0.30f         /* wheel separation */
#define FW_WHEEL_MAX 1.5f        /* m/s at 1000 permille duty */
#define FW_LOW_BATTERY_MV 10500u

#endif
