from waproto import wa_e2e_pb2 as _wa_e2e_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SyncdVersion(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: int
    def __init__(self, version: _Optional[int] = ...) -> None: ...

class KeyId(_message.Message):
    __slots__ = ("ID",)
    ID_FIELD_NUMBER: _ClassVar[int]
    ID: bytes
    def __init__(self, ID: _Optional[bytes] = ...) -> None: ...

class SyncdIndex(_message.Message):
    __slots__ = ("blob",)
    BLOB_FIELD_NUMBER: _ClassVar[int]
    blob: bytes
    def __init__(self, blob: _Optional[bytes] = ...) -> None: ...

class SyncdValue(_message.Message):
    __slots__ = ("blob",)
    BLOB_FIELD_NUMBER: _ClassVar[int]
    blob: bytes
    def __init__(self, blob: _Optional[bytes] = ...) -> None: ...

class SyncdRecord(_message.Message):
    __slots__ = ("index", "value", "keyID")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    KEYID_FIELD_NUMBER: _ClassVar[int]
    index: SyncdIndex
    value: SyncdValue
    keyID: KeyId
    def __init__(self, index: _Optional[_Union[SyncdIndex, _Mapping]] = ..., value: _Optional[_Union[SyncdValue, _Mapping]] = ..., keyID: _Optional[_Union[KeyId, _Mapping]] = ...) -> None: ...

class SyncdMutation(_message.Message):
    __slots__ = ("operation", "record")
    class SyncdOperation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        SET: _ClassVar[SyncdMutation.SyncdOperation]
        REMOVE: _ClassVar[SyncdMutation.SyncdOperation]
    SET: SyncdMutation.SyncdOperation
    REMOVE: SyncdMutation.SyncdOperation
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    operation: SyncdMutation.SyncdOperation
    record: SyncdRecord
    def __init__(self, operation: _Optional[_Union[SyncdMutation.SyncdOperation, str]] = ..., record: _Optional[_Union[SyncdRecord, _Mapping]] = ...) -> None: ...

class SyncdMutations(_message.Message):
    __slots__ = ("mutations",)
    MUTATIONS_FIELD_NUMBER: _ClassVar[int]
    mutations: _containers.RepeatedCompositeFieldContainer[SyncdMutation]
    def __init__(self, mutations: _Optional[_Iterable[_Union[SyncdMutation, _Mapping]]] = ...) -> None: ...

class ExternalBlobReference(_message.Message):
    __slots__ = ("mediaKey", "directPath", "handle", "fileSizeBytes", "fileSHA256", "fileEncSHA256")
    MEDIAKEY_FIELD_NUMBER: _ClassVar[int]
    DIRECTPATH_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    FILESIZEBYTES_FIELD_NUMBER: _ClassVar[int]
    FILESHA256_FIELD_NUMBER: _ClassVar[int]
    FILEENCSHA256_FIELD_NUMBER: _ClassVar[int]
    mediaKey: bytes
    directPath: str
    handle: str
    fileSizeBytes: int
    fileSHA256: bytes
    fileEncSHA256: bytes
    def __init__(self, mediaKey: _Optional[bytes] = ..., directPath: _Optional[str] = ..., handle: _Optional[str] = ..., fileSizeBytes: _Optional[int] = ..., fileSHA256: _Optional[bytes] = ..., fileEncSHA256: _Optional[bytes] = ...) -> None: ...

class ExitCode(_message.Message):
    __slots__ = ("code", "text")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    code: int
    text: str
    def __init__(self, code: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class SyncdPatch(_message.Message):
    __slots__ = ("version", "mutations", "externalMutations", "snapshotMAC", "patchMAC", "keyID", "exitCode", "deviceIndex", "clientDebugData")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MUTATIONS_FIELD_NUMBER: _ClassVar[int]
    EXTERNALMUTATIONS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTMAC_FIELD_NUMBER: _ClassVar[int]
    PATCHMAC_FIELD_NUMBER: _ClassVar[int]
    KEYID_FIELD_NUMBER: _ClassVar[int]
    EXITCODE_FIELD_NUMBER: _ClassVar[int]
    DEVICEINDEX_FIELD_NUMBER: _ClassVar[int]
    CLIENTDEBUGDATA_FIELD_NUMBER: _ClassVar[int]
    version: SyncdVersion
    mutations: _containers.RepeatedCompositeFieldContainer[SyncdMutation]
    externalMutations: ExternalBlobReference
    snapshotMAC: bytes
    patchMAC: bytes
    keyID: KeyId
    exitCode: ExitCode
    deviceIndex: int
    clientDebugData: bytes
    def __init__(self, version: _Optional[_Union[SyncdVersion, _Mapping]] = ..., mutations: _Optional[_Iterable[_Union[SyncdMutation, _Mapping]]] = ..., externalMutations: _Optional[_Union[ExternalBlobReference, _Mapping]] = ..., snapshotMAC: _Optional[bytes] = ..., patchMAC: _Optional[bytes] = ..., keyID: _Optional[_Union[KeyId, _Mapping]] = ..., exitCode: _Optional[_Union[ExitCode, _Mapping]] = ..., deviceIndex: _Optional[int] = ..., clientDebugData: _Optional[bytes] = ...) -> None: ...

class SyncdSnapshot(_message.Message):
    __slots__ = ("version", "records", "mac", "keyID")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    KEYID_FIELD_NUMBER: _ClassVar[int]
    version: SyncdVersion
    records: _containers.RepeatedCompositeFieldContainer[SyncdRecord]
    mac: bytes
    keyID: KeyId
    def __init__(self, version: _Optional[_Union[SyncdVersion, _Mapping]] = ..., records: _Optional[_Iterable[_Union[SyncdRecord, _Mapping]]] = ..., mac: _Optional[bytes] = ..., keyID: _Optional[_Union[KeyId, _Mapping]] = ...) -> None: ...

class SyncdSnapshotRecovery(_message.Message):
    __slots__ = ("version", "collectionName", "mutationRecords", "collectionLthash")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    COLLECTIONNAME_FIELD_NUMBER: _ClassVar[int]
    MUTATIONRECORDS_FIELD_NUMBER: _ClassVar[int]
    COLLECTIONLTHASH_FIELD_NUMBER: _ClassVar[int]
    version: SyncdVersion
    collectionName: str
    mutationRecords: _containers.RepeatedCompositeFieldContainer[SyncdPlainTextRecord]
    collectionLthash: bytes
    def __init__(self, version: _Optional[_Union[SyncdVersion, _Mapping]] = ..., collectionName: _Optional[str] = ..., mutationRecords: _Optional[_Iterable[_Union[SyncdPlainTextRecord, _Mapping]]] = ..., collectionLthash: _Optional[bytes] = ...) -> None: ...

class SyncdPlainTextRecord(_message.Message):
    __slots__ = ("value", "keyID", "mac")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    KEYID_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    value: SyncActionData
    keyID: bytes
    mac: bytes
    def __init__(self, value: _Optional[_Union[SyncActionData, _Mapping]] = ..., keyID: _Optional[bytes] = ..., mac: _Optional[bytes] = ...) -> None: ...

class SyncActionData(_message.Message):
    __slots__ = ("index", "value", "padding", "version")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    PADDING_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    index: bytes
    value: SyncActionValue
    padding: bytes
    version: int
    def __init__(self, index: _Optional[bytes] = ..., value: _Optional[_Union[SyncActionValue, _Mapping]] = ..., padding: _Optional[bytes] = ..., version: _Optional[int] = ...) -> None: ...

class SyncActionValue(_message.Message):
    __slots__ = ("timestamp", "starAction", "contactAction", "muteAction", "pinAction", "pushNameSetting", "quickReplyAction", "labelEditAction", "labelAssociationAction", "localeSetting", "archiveChatAction", "deleteMessageForMeAction", "keyExpiration", "markChatAsReadAction", "clearChatAction", "deleteChatAction", "unarchiveChatsSetting", "primaryFeature", "androidUnsupportedActions", "userStatusMuteAction", "timeFormatAction", "nuxAction", "primaryVersionAction", "pnForLidChatAction", "lockChatAction", "lidContactAction", "nctSaltSyncAction")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    STARACTION_FIELD_NUMBER: _ClassVar[int]
    CONTACTACTION_FIELD_NUMBER: _ClassVar[int]
    MUTEACTION_FIELD_NUMBER: _ClassVar[int]
    PINACTION_FIELD_NUMBER: _ClassVar[int]
    PUSHNAMESETTING_FIELD_NUMBER: _ClassVar[int]
    QUICKREPLYACTION_FIELD_NUMBER: _ClassVar[int]
    LABELEDITACTION_FIELD_NUMBER: _ClassVar[int]
    LABELASSOCIATIONACTION_FIELD_NUMBER: _ClassVar[int]
    LOCALESETTING_FIELD_NUMBER: _ClassVar[int]
    ARCHIVECHATACTION_FIELD_NUMBER: _ClassVar[int]
    DELETEMESSAGEFORMEACTION_FIELD_NUMBER: _ClassVar[int]
    KEYEXPIRATION_FIELD_NUMBER: _ClassVar[int]
    MARKCHATASREADACTION_FIELD_NUMBER: _ClassVar[int]
    CLEARCHATACTION_FIELD_NUMBER: _ClassVar[int]
    DELETECHATACTION_FIELD_NUMBER: _ClassVar[int]
    UNARCHIVECHATSSETTING_FIELD_NUMBER: _ClassVar[int]
    PRIMARYFEATURE_FIELD_NUMBER: _ClassVar[int]
    ANDROIDUNSUPPORTEDACTIONS_FIELD_NUMBER: _ClassVar[int]
    USERSTATUSMUTEACTION_FIELD_NUMBER: _ClassVar[int]
    TIMEFORMATACTION_FIELD_NUMBER: _ClassVar[int]
    NUXACTION_FIELD_NUMBER: _ClassVar[int]
    PRIMARYVERSIONACTION_FIELD_NUMBER: _ClassVar[int]
    PNFORLIDCHATACTION_FIELD_NUMBER: _ClassVar[int]
    LOCKCHATACTION_FIELD_NUMBER: _ClassVar[int]
    LIDCONTACTACTION_FIELD_NUMBER: _ClassVar[int]
    NCTSALTSYNCACTION_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    starAction: StarAction
    contactAction: ContactAction
    muteAction: MuteAction
    pinAction: PinAction
    pushNameSetting: PushNameSetting
    quickReplyAction: QuickReplyAction
    labelEditAction: LabelEditAction
    labelAssociationAction: LabelAssociationAction
    localeSetting: LocaleSetting
    archiveChatAction: ArchiveChatAction
    deleteMessageForMeAction: DeleteMessageForMeAction
    keyExpiration: KeyExpiration
    markChatAsReadAction: MarkChatAsReadAction
    clearChatAction: ClearChatAction
    deleteChatAction: DeleteChatAction
    unarchiveChatsSetting: UnarchiveChatsSetting
    primaryFeature: PrimaryFeature
    androidUnsupportedActions: AndroidUnsupportedActions
    userStatusMuteAction: UserStatusMuteAction
    timeFormatAction: TimeFormatAction
    nuxAction: NuxAction
    primaryVersionAction: PrimaryVersionAction
    pnForLidChatAction: PnForLidChatAction
    lockChatAction: LockChatAction
    lidContactAction: LidContactAction
    nctSaltSyncAction: NctSaltSyncAction
    def __init__(self, timestamp: _Optional[int] = ..., starAction: _Optional[_Union[StarAction, _Mapping]] = ..., contactAction: _Optional[_Union[ContactAction, _Mapping]] = ..., muteAction: _Optional[_Union[MuteAction, _Mapping]] = ..., pinAction: _Optional[_Union[PinAction, _Mapping]] = ..., pushNameSetting: _Optional[_Union[PushNameSetting, _Mapping]] = ..., quickReplyAction: _Optional[_Union[QuickReplyAction, _Mapping]] = ..., labelEditAction: _Optional[_Union[LabelEditAction, _Mapping]] = ..., labelAssociationAction: _Optional[_Union[LabelAssociationAction, _Mapping]] = ..., localeSetting: _Optional[_Union[LocaleSetting, _Mapping]] = ..., archiveChatAction: _Optional[_Union[ArchiveChatAction, _Mapping]] = ..., deleteMessageForMeAction: _Optional[_Union[DeleteMessageForMeAction, _Mapping]] = ..., keyExpiration: _Optional[_Union[KeyExpiration, _Mapping]] = ..., markChatAsReadAction: _Optional[_Union[MarkChatAsReadAction, _Mapping]] = ..., clearChatAction: _Optional[_Union[ClearChatAction, _Mapping]] = ..., deleteChatAction: _Optional[_Union[DeleteChatAction, _Mapping]] = ..., unarchiveChatsSetting: _Optional[_Union[UnarchiveChatsSetting, _Mapping]] = ..., primaryFeature: _Optional[_Union[PrimaryFeature, _Mapping]] = ..., androidUnsupportedActions: _Optional[_Union[AndroidUnsupportedActions, _Mapping]] = ..., userStatusMuteAction: _Optional[_Union[UserStatusMuteAction, _Mapping]] = ..., timeFormatAction: _Optional[_Union[TimeFormatAction, _Mapping]] = ..., nuxAction: _Optional[_Union[NuxAction, _Mapping]] = ..., primaryVersionAction: _Optional[_Union[PrimaryVersionAction, _Mapping]] = ..., pnForLidChatAction: _Optional[_Union[PnForLidChatAction, _Mapping]] = ..., lockChatAction: _Optional[_Union[LockChatAction, _Mapping]] = ..., lidContactAction: _Optional[_Union[LidContactAction, _Mapping]] = ..., nctSaltSyncAction: _Optional[_Union[NctSaltSyncAction, _Mapping]] = ...) -> None: ...

class SyncActionMessage(_message.Message):
    __slots__ = ("key", "timestamp")
    KEY_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    key: _wa_e2e_pb2.MessageKey
    timestamp: int
    def __init__(self, key: _Optional[_Union[_wa_e2e_pb2.MessageKey, _Mapping]] = ..., timestamp: _Optional[int] = ...) -> None: ...

class SyncActionMessageRange(_message.Message):
    __slots__ = ("lastMessageTimestamp", "lastSystemMessageTimestamp", "messages")
    LASTMESSAGETIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LASTSYSTEMMESSAGETIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    lastMessageTimestamp: int
    lastSystemMessageTimestamp: int
    messages: _containers.RepeatedCompositeFieldContainer[SyncActionMessage]
    def __init__(self, lastMessageTimestamp: _Optional[int] = ..., lastSystemMessageTimestamp: _Optional[int] = ..., messages: _Optional[_Iterable[_Union[SyncActionMessage, _Mapping]]] = ...) -> None: ...

class StarAction(_message.Message):
    __slots__ = ("starred",)
    STARRED_FIELD_NUMBER: _ClassVar[int]
    starred: bool
    def __init__(self, starred: _Optional[bool] = ...) -> None: ...

class ContactAction(_message.Message):
    __slots__ = ("fullName", "firstName", "lidJID", "saveOnPrimaryAddressbook", "pnJID", "username")
    FULLNAME_FIELD_NUMBER: _ClassVar[int]
    FIRSTNAME_FIELD_NUMBER: _ClassVar[int]
    LIDJID_FIELD_NUMBER: _ClassVar[int]
    SAVEONPRIMARYADDRESSBOOK_FIELD_NUMBER: _ClassVar[int]
    PNJID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    fullName: str
    firstName: str
    lidJID: str
    saveOnPrimaryAddressbook: bool
    pnJID: str
    username: str
    def __init__(self, fullName: _Optional[str] = ..., firstName: _Optional[str] = ..., lidJID: _Optional[str] = ..., saveOnPrimaryAddressbook: _Optional[bool] = ..., pnJID: _Optional[str] = ..., username: _Optional[str] = ...) -> None: ...

class LidContactAction(_message.Message):
    __slots__ = ("fullName", "firstName", "username")
    FULLNAME_FIELD_NUMBER: _ClassVar[int]
    FIRSTNAME_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    fullName: str
    firstName: str
    username: str
    def __init__(self, fullName: _Optional[str] = ..., firstName: _Optional[str] = ..., username: _Optional[str] = ...) -> None: ...

class MuteAction(_message.Message):
    __slots__ = ("muted", "muteEndTimestamp", "autoMuted", "muteEveryoneMentionEndTimestamp")
    MUTED_FIELD_NUMBER: _ClassVar[int]
    MUTEENDTIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    AUTOMUTED_FIELD_NUMBER: _ClassVar[int]
    MUTEEVERYONEMENTIONENDTIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    muted: bool
    muteEndTimestamp: int
    autoMuted: bool
    muteEveryoneMentionEndTimestamp: int
    def __init__(self, muted: _Optional[bool] = ..., muteEndTimestamp: _Optional[int] = ..., autoMuted: _Optional[bool] = ..., muteEveryoneMentionEndTimestamp: _Optional[int] = ...) -> None: ...

class PinAction(_message.Message):
    __slots__ = ("pinned",)
    PINNED_FIELD_NUMBER: _ClassVar[int]
    pinned: bool
    def __init__(self, pinned: _Optional[bool] = ...) -> None: ...

class PushNameSetting(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class QuickReplyAction(_message.Message):
    __slots__ = ("shortcut", "message", "keywords", "count", "deleted", "associatedLabelIDs")
    SHORTCUT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    ASSOCIATEDLABELIDS_FIELD_NUMBER: _ClassVar[int]
    shortcut: str
    message: str
    keywords: _containers.RepeatedScalarFieldContainer[str]
    count: int
    deleted: bool
    associatedLabelIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, shortcut: _Optional[str] = ..., message: _Optional[str] = ..., keywords: _Optional[_Iterable[str]] = ..., count: _Optional[int] = ..., deleted: _Optional[bool] = ..., associatedLabelIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class LabelEditAction(_message.Message):
    __slots__ = ("name", "color", "predefinedID", "deleted", "orderIndex", "isActive", "type", "isImmutable", "muteEndTimeMS")
    class ListType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        NONE: _ClassVar[LabelEditAction.ListType]
        UNREAD: _ClassVar[LabelEditAction.ListType]
        GROUPS: _ClassVar[LabelEditAction.ListType]
        FAVORITES: _ClassVar[LabelEditAction.ListType]
        PREDEFINED: _ClassVar[LabelEditAction.ListType]
        CUSTOM: _ClassVar[LabelEditAction.ListType]
        COMMUNITY: _ClassVar[LabelEditAction.ListType]
        SERVER_ASSIGNED: _ClassVar[LabelEditAction.ListType]
        DRAFTED: _ClassVar[LabelEditAction.ListType]
        AI_HANDOFF: _ClassVar[LabelEditAction.ListType]
        CHANNELS: _ClassVar[LabelEditAction.ListType]
        AI_RESPONDING: _ClassVar[LabelEditAction.ListType]
        ARCHIVED: _ClassVar[LabelEditAction.ListType]
        LOCKED: _ClassVar[LabelEditAction.ListType]
        INVITES: _ClassVar[LabelEditAction.ListType]
        THIRD_PARTY: _ClassVar[LabelEditAction.ListType]
        LEAD: _ClassVar[LabelEditAction.ListType]
        MENTIONS_AND_REPLIES: _ClassVar[LabelEditAction.ListType]
    NONE: LabelEditAction.ListType
    UNREAD: LabelEditAction.ListType
    GROUPS: LabelEditAction.ListType
    FAVORITES: LabelEditAction.ListType
    PREDEFINED: LabelEditAction.ListType
    CUSTOM: LabelEditAction.ListType
    COMMUNITY: LabelEditAction.ListType
    SERVER_ASSIGNED: LabelEditAction.ListType
    DRAFTED: LabelEditAction.ListType
    AI_HANDOFF: LabelEditAction.ListType
    CHANNELS: LabelEditAction.ListType
    AI_RESPONDING: LabelEditAction.ListType
    ARCHIVED: LabelEditAction.ListType
    LOCKED: LabelEditAction.ListType
    INVITES: LabelEditAction.ListType
    THIRD_PARTY: LabelEditAction.ListType
    LEAD: LabelEditAction.ListType
    MENTIONS_AND_REPLIES: LabelEditAction.ListType
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    PREDEFINEDID_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    ORDERINDEX_FIELD_NUMBER: _ClassVar[int]
    ISACTIVE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ISIMMUTABLE_FIELD_NUMBER: _ClassVar[int]
    MUTEENDTIMEMS_FIELD_NUMBER: _ClassVar[int]
    name: str
    color: int
    predefinedID: int
    deleted: bool
    orderIndex: int
    isActive: bool
    type: LabelEditAction.ListType
    isImmutable: bool
    muteEndTimeMS: int
    def __init__(self, name: _Optional[str] = ..., color: _Optional[int] = ..., predefinedID: _Optional[int] = ..., deleted: _Optional[bool] = ..., orderIndex: _Optional[int] = ..., isActive: _Optional[bool] = ..., type: _Optional[_Union[LabelEditAction.ListType, str]] = ..., isImmutable: _Optional[bool] = ..., muteEndTimeMS: _Optional[int] = ...) -> None: ...

class LabelAssociationAction(_message.Message):
    __slots__ = ("labeled", "modelMetaData")
    LABELED_FIELD_NUMBER: _ClassVar[int]
    MODELMETADATA_FIELD_NUMBER: _ClassVar[int]
    labeled: bool
    modelMetaData: str
    def __init__(self, labeled: _Optional[bool] = ..., modelMetaData: _Optional[str] = ...) -> None: ...

class LocaleSetting(_message.Message):
    __slots__ = ("locale",)
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    locale: str
    def __init__(self, locale: _Optional[str] = ...) -> None: ...

class ArchiveChatAction(_message.Message):
    __slots__ = ("archived", "messageRange")
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    MESSAGERANGE_FIELD_NUMBER: _ClassVar[int]
    archived: bool
    messageRange: SyncActionMessageRange
    def __init__(self, archived: _Optional[bool] = ..., messageRange: _Optional[_Union[SyncActionMessageRange, _Mapping]] = ...) -> None: ...

class DeleteMessageForMeAction(_message.Message):
    __slots__ = ("deleteMedia", "messageTimestamp")
    DELETEMEDIA_FIELD_NUMBER: _ClassVar[int]
    MESSAGETIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    deleteMedia: bool
    messageTimestamp: int
    def __init__(self, deleteMedia: _Optional[bool] = ..., messageTimestamp: _Optional[int] = ...) -> None: ...

class KeyExpiration(_message.Message):
    __slots__ = ("expiredKeyEpoch",)
    EXPIREDKEYEPOCH_FIELD_NUMBER: _ClassVar[int]
    expiredKeyEpoch: int
    def __init__(self, expiredKeyEpoch: _Optional[int] = ...) -> None: ...

class MarkChatAsReadAction(_message.Message):
    __slots__ = ("read", "messageRange")
    READ_FIELD_NUMBER: _ClassVar[int]
    MESSAGERANGE_FIELD_NUMBER: _ClassVar[int]
    read: bool
    messageRange: SyncActionMessageRange
    def __init__(self, read: _Optional[bool] = ..., messageRange: _Optional[_Union[SyncActionMessageRange, _Mapping]] = ...) -> None: ...

class ClearChatAction(_message.Message):
    __slots__ = ("messageRange",)
    MESSAGERANGE_FIELD_NUMBER: _ClassVar[int]
    messageRange: SyncActionMessageRange
    def __init__(self, messageRange: _Optional[_Union[SyncActionMessageRange, _Mapping]] = ...) -> None: ...

class DeleteChatAction(_message.Message):
    __slots__ = ("messageRange",)
    MESSAGERANGE_FIELD_NUMBER: _ClassVar[int]
    messageRange: SyncActionMessageRange
    def __init__(self, messageRange: _Optional[_Union[SyncActionMessageRange, _Mapping]] = ...) -> None: ...

class UnarchiveChatsSetting(_message.Message):
    __slots__ = ("unarchiveChats",)
    UNARCHIVECHATS_FIELD_NUMBER: _ClassVar[int]
    unarchiveChats: bool
    def __init__(self, unarchiveChats: _Optional[bool] = ...) -> None: ...

class PrimaryFeature(_message.Message):
    __slots__ = ("flags",)
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    flags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, flags: _Optional[_Iterable[str]] = ...) -> None: ...

class AndroidUnsupportedActions(_message.Message):
    __slots__ = ("allowed",)
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    def __init__(self, allowed: _Optional[bool] = ...) -> None: ...

class UserStatusMuteAction(_message.Message):
    __slots__ = ("muted",)
    MUTED_FIELD_NUMBER: _ClassVar[int]
    muted: bool
    def __init__(self, muted: _Optional[bool] = ...) -> None: ...

class TimeFormatAction(_message.Message):
    __slots__ = ("isTwentyFourHourFormatEnabled",)
    ISTWENTYFOURHOURFORMATENABLED_FIELD_NUMBER: _ClassVar[int]
    isTwentyFourHourFormatEnabled: bool
    def __init__(self, isTwentyFourHourFormatEnabled: _Optional[bool] = ...) -> None: ...

class NuxAction(_message.Message):
    __slots__ = ("acknowledged",)
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    acknowledged: bool
    def __init__(self, acknowledged: _Optional[bool] = ...) -> None: ...

class PrimaryVersionAction(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: str
    def __init__(self, version: _Optional[str] = ...) -> None: ...

class PnForLidChatAction(_message.Message):
    __slots__ = ("pnJID",)
    PNJID_FIELD_NUMBER: _ClassVar[int]
    pnJID: str
    def __init__(self, pnJID: _Optional[str] = ...) -> None: ...

class LockChatAction(_message.Message):
    __slots__ = ("locked",)
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    locked: bool
    def __init__(self, locked: _Optional[bool] = ...) -> None: ...

class NctSaltSyncAction(_message.Message):
    __slots__ = ("salt",)
    SALT_FIELD_NUMBER: _ClassVar[int]
    salt: bytes
    def __init__(self, salt: _Optional[bytes] = ...) -> None: ...
