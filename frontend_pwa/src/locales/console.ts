// Strings of the host and store-staff consoles. They are merged into vue-i18n when a
// console page loads (this module is imported by the console views and components), so
// the shopper's first load never carries them.
import { i18n } from '../i18n'

const en = {
  host: {
    title: 'Host studio', console: 'Host console', notAllowed: 'This page is for hosts.', schedule: 'Schedule a show', showTitle: 'Show title', startsAt: 'Starts at', scheduleSubmit: 'Schedule show',
    myShows: 'My shows', noShows: 'You have no shows yet.', items: 'no items | 1 item | {n} items', status: 'Status', connected: 'Connected to the room',
    startShow: 'Start show', endShow: 'End show', started: 'The show is live.', ended: 'The show has ended.', viewerView: 'Open the viewer page',
    lineup: 'Line-up', noItems: 'No products in the line-up yet.', label: 'Label', product: 'Product', livePrice: 'Live price', quota: 'Quota', perBuyer: 'Per-buyer limit',
    pin: 'Pin', pinItem: 'Pin {label}', unpin: 'Unpin {label}', pinnedNow: '{label} is pinned.', unpinnedNow: 'Nothing is pinned.', findProduct: 'Find a product', addItem: 'Add to line-up', added: '{label} added to the line-up.',
    goLive: 'Go live', preview: 'Camera preview', cameraPreview: 'Preview camera', goLiveCamera: 'Go live from this camera', stopCamera: 'Stop broadcasting',
    publish: { idle: 'Camera off.', preview: 'Previewing; viewers do not see this yet.', connecting: 'Connecting to the media server…', live: 'Broadcasting from this browser.', error: 'Broadcast stopped.' },
    obs: 'Stream from OBS instead', obsHelp: 'OBS → Settings → Stream: Service “WHIP”, Server = WHIP URL, Bearer token = stream key. Keep the key secret.',
    whipUrl: 'WHIP URL', streamKey: 'Stream key', revealKey: 'Show key', copy: 'Copy {what}', copied: '{what} copied.',
    keepReplays: 'Keep the replays of this show forever', keepReplaysHelp: 'Otherwise replays are deleted after the retention period the shop sets.', replaysKept: 'Replays of this show are kept forever.', replaysExpire: 'Replays of this show will expire.',
    drops: 'Flash drops and coupons', dropPrice: 'Drop price', countdown: 'Countdown (s)', duration: 'Duration (s)', startDrop: 'Start flash drop', dropStarted: 'Flash drop of {label} started.',
    openDrops: 'Drops', kind: 'Kind', left: 'Left', actions: 'Actions', endDrop: 'End drop {label}', dropEnded: 'Drop ended.',
    coupon: 'Drop a coupon', couponCode: 'Coupon code', couponQty: 'How many', claimLimit: 'Per-viewer limit', dropCoupon: 'Drop coupon', couponDropped: 'Coupon {code} dropped.',
    moderation: 'Moderation', slowMode: 'Slow mode (seconds, 0 = off)', apply: 'Apply', muteFor: 'Mute for', minutes: '{n} min', blockedWords: 'Blocked words', blockedWordsHelp: 'Comma-separated; comments containing one are refused.',
    moderator: 'Moderator (username)', addModerator: 'Add moderator', moderatorAdded: '{name} can now moderate this show.',
    slowNow: 'slow mode {n} s', noComments: 'No comments yet.', delete: 'Delete', mute: 'Mute', ban: 'Ban', confirmBan: 'Ban {author} from this show?',
    deleted: 'Comment by {author} deleted.', muted: '{author} muted for {n} min.', banned: '{author} banned.', slowSet: 'Slow mode set to {n} s.', wordsSet: '{n} blocked words saved.',
    dashboard: 'Live dashboard', noFigures: 'No figures yet.', dashboardView: 'Show the history as', charts: 'Charts', table: 'Table', history: 'Dashboard history', time: 'Time',
    chartSummary: '{metric}: now {value}, {n} points', metric: { viewers: 'Viewers', comments_per_minute: 'Comments/min', holds: 'Holds', paid_orders: 'Paid orders', gmv: 'GMV', conversion: 'Conversion', peak_viewers: 'Peak viewers', likes: 'Likes' },
  },
  staffOps: {
    stopScan: 'Stop camera', cameraView: 'Camera view for scanning', scanning: 'Point the camera at the code…', scanQr: 'Scan the customer’s QR code', scanItem: 'Scan with camera',
    scanToPick: 'Pick by scanning', itemCode: 'Barcode or SKU', count: 'Count item', scannedOf: '{n} of {of} scanned', counted: '{sku}: {n} of {of}.', notOnOrder: '{code} is not on this order.', tooMany: 'All units of {sku} are already counted.', allScanned: 'All items scanned: ready to pack.',
    orderLine: 'order line {n}', rma: 'Return number (RMA)', rmaTitle: 'Return {rma} · order {order}', received: 'Return {rma} received at {store}.', restockWhich: 'Put back on this store’s shelf', inspect: 'Finish inspection', inspected: 'Return {rma} closed; {n} line(s) restocked.', notRestocked: 'not restocked',
    returnStatus: { requested: 'Requested', received: 'Received', completed: 'Completed', cancelled: 'Cancelled' },
    onHand: 'On hand', allocated: 'Allocated', reserved: 'Reserved', free: 'Free', adjustSku: 'Adjust {sku}', adjustTitle: 'Adjust {sku} at {store}', delta: 'Change (+/−)', deltaHelp: 'Positive adds units, negative removes them.', reasonLabel: 'Reason', note: 'Note', adjust: 'Save adjustment', adjusted: '{sku}: {n} on hand now.', movements: 'Recent movements',
    reason: { count: 'Stock count correction', damaged: 'Damaged', found: 'Found', lost: 'Lost or stolen', other: 'Other' },
    syncTitle: 'Sales-channel sync', adminOnly: 'This page is for merchant admins.', state: 'State', healthy: 'Healthy', attention: 'Needs attention', disabled: 'Disabled', lastSuccess: 'Last success', never: 'never', lag: 'Lag', seconds: '{n} s', queue: 'Queue', errorRate: 'Error rate', deadLetters: 'Dead letters',
    recentErrors: 'Recent errors', breaker: 'Circuit breaker', breakerClosed: 'Closed: calls flow', breakerOpen: 'Open: calls paused', breakerHalfOpen: 'Half-open: one probe call',
    nextProbe: 'next probe at {at}', probeUntil: 'probe until {at}', failuresInRow: 'no failures in a row | 1 failure in a row | {n} failures in a row',
    retry: 'Retry {channel}', requeued: '{n} dead letters requeued for {channel}.', reconcile: 'Reconcile {channel}', reconciled: '{channel} reconciled.',
  },
}

const zhCN = {
  host: {
    title: '主播工作台', console: '直播控制台', notAllowed: '此页面仅供主播使用。', schedule: '预约直播', showTitle: '直播标题', startsAt: '开始时间', scheduleSubmit: '预约',
    myShows: '我的直播', noShows: '还没有直播。', items: '没有商品 | 1 件商品 | {n} 件商品', status: '状态', connected: '已连接直播间',
    startShow: '开始直播', endShow: '结束直播', started: '直播已开始。', ended: '直播已结束。', viewerView: '打开观众页面',
    lineup: '商品清单', noItems: '清单里还没有商品。', label: '编号', product: '商品', livePrice: '直播价', quota: '限量', perBuyer: '每人限购',
    pin: '置顶', pinItem: '置顶 {label}', unpin: '取消置顶 {label}', pinnedNow: '{label} 已置顶。', unpinnedNow: '没有置顶商品。', findProduct: '查找商品', addItem: '加入清单', added: '{label} 已加入清单。',
    goLive: '开播', preview: '摄像头预览', cameraPreview: '预览摄像头', goLiveCamera: '用此摄像头开播', stopCamera: '停止推流',
    publish: { idle: '摄像头已关闭。', preview: '预览中，观众还看不到。', connecting: '正在连接媒体服务器…', live: '正在从此浏览器推流。', error: '推流已停止。' },
    obs: '改用 OBS 推流', obsHelp: 'OBS → 设置 → 推流：服务选 “WHIP”，服务器填 WHIP 地址，Bearer 令牌填推流密钥。请勿泄露密钥。',
    whipUrl: 'WHIP 地址', streamKey: '推流密钥', revealKey: '显示密钥', copy: '复制{what}', copied: '已复制{what}。',
    keepReplays: '永久保留本场回放', keepReplaysHelp: '否则回放会在商城设定的保留期后删除。', replaysKept: '本场回放将永久保留。', replaysExpire: '本场回放将按保留期删除。',
    drops: '限时抢购与优惠券', dropPrice: '抢购价', countdown: '倒计时（秒）', duration: '持续（秒）', startDrop: '开始限时抢购', dropStarted: '{label} 限时抢购已开始。',
    openDrops: '抢购', kind: '类型', left: '剩余', actions: '操作', endDrop: '结束抢购 {label}', dropEnded: '抢购已结束。',
    coupon: '发放优惠券', couponCode: '优惠码', couponQty: '数量', claimLimit: '每人限领', dropCoupon: '发券', couponDropped: '优惠券 {code} 已发放。',
    moderation: '直播间管理', slowMode: '慢速模式（秒，0 为关闭）', apply: '应用', muteFor: '禁言时长', minutes: '{n} 分钟', blockedWords: '屏蔽词', blockedWordsHelp: '用逗号分隔；包含屏蔽词的评论会被拒绝。',
    moderator: '场控（用户名）', addModerator: '添加场控', moderatorAdded: '{name} 现在可以管理本场直播。',
    slowNow: '慢速模式 {n} 秒', noComments: '还没有评论。', delete: '删除', mute: '禁言', ban: '拉黑', confirmBan: '将 {author} 拉黑出本场直播？',
    deleted: '已删除 {author} 的评论。', muted: '{author} 已被禁言 {n} 分钟。', banned: '{author} 已被拉黑。', slowSet: '慢速模式已设为 {n} 秒。', wordsSet: '已保存 {n} 个屏蔽词。',
    dashboard: '实时数据', noFigures: '暂无数据。', dashboardView: '历史数据显示为', charts: '图表', table: '表格', history: '数据历史', time: '时间',
    chartSummary: '{metric}：当前 {value}，共 {n} 个数据点', metric: { viewers: '观看人数', comments_per_minute: '每分钟评论', holds: '锁单', paid_orders: '已付订单', gmv: '成交额', conversion: '转化率', peak_viewers: '峰值人数', likes: '点赞' },
  },
  staffOps: {
    stopScan: '关闭摄像头', cameraView: '扫码摄像画面', scanning: '请将摄像头对准条码…', scanQr: '扫描顾客二维码', scanItem: '用摄像头扫码',
    scanToPick: '扫码拣货', itemCode: '条码或 SKU', count: '计数', scannedOf: '已扫 {n} / {of}', counted: '{sku}：{n} / {of}。', notOnOrder: '{code} 不在此订单中。', tooMany: '{sku} 已全部扫完。', allScanned: '全部商品已扫码，可以打包。',
    orderLine: '订单行 {n}', rma: '退货单号（RMA）', rmaTitle: '退货 {rma} · 订单 {order}', received: '退货 {rma} 已在 {store} 收货。', restockWhich: '放回本店货架', inspect: '完成检验', inspected: '退货 {rma} 已完成；{n} 行已入库。', notRestocked: '未入库',
    returnStatus: { requested: '已申请', received: '已收货', completed: '已完成', cancelled: '已取消' },
    onHand: '在库', allocated: '已分配', reserved: '已预留', free: '可用', adjustSku: '调整 {sku}', adjustTitle: '调整 {store} 的 {sku}', delta: '变动（+/−）', deltaHelp: '正数为增加，负数为减少。', reasonLabel: '原因', note: '备注', adjust: '保存调整', adjusted: '{sku}：现在在库 {n}。', movements: '最近变动',
    reason: { count: '盘点更正', damaged: '损坏', found: '盘盈', lost: '丢失或被盗', other: '其他' },
    syncTitle: '销售渠道同步', adminOnly: '此页面仅供商户管理员使用。', state: '状态', healthy: '正常', attention: '需要处理', disabled: '已停用', lastSuccess: '上次成功', never: '从未', lag: '延迟', seconds: '{n} 秒', queue: '队列', errorRate: '错误率', deadLetters: '死信',
    recentErrors: '近期错误率', breaker: '熔断器', breakerClosed: '关闭：正常调用', breakerOpen: '打开：暂停调用', breakerHalfOpen: '半开：试探调用一次',
    nextProbe: '下次试探 {at}', probeUntil: '试探截止 {at}', failuresInRow: '无连续失败 | 连续失败 1 次 | 连续失败 {n} 次',
    retry: '重试 {channel}', requeued: '{channel} 已重新排队 {n} 条死信。', reconcile: '对账 {channel}', reconciled: '{channel} 已对账。',
  },
}

i18n.global.mergeLocaleMessage('en', en)
i18n.global.mergeLocaleMessage('zh-CN', zhCN)
