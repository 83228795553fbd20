export default {
  app: { name: 'LiveHub', skip: '跳到正文', language: '语言', offline: '当前离线，显示已保存的页面。', loading: '加载中…', retry: '重试', mainNav: '主导航' },
  nav: { shop: '商城', orders: '我的订单', staff: '门店工作台', login: '登录', logout: '退出', signedInAs: '已登录：{name}' },
  catalog: { title: '商城', search: '搜索商品', searchButton: '搜索', category: '分类', allCategories: '全部分类', empty: '没有匹配的商品。', results: '共 {n} 件商品', from: '{price} 起' },
  product: { variants: '选择规格', available: '可售 {n} 件', soldOut: '已售罄', quantity: '数量', pickupStore: '自提门店', delivery: '取货方式', methodPickup: '门店自提', methodShip: '快递配送', address: '收货地址', placeOrder: '提交订单', placing: '正在提交…', signInToBuy: '登录后购买', notFound: '找不到该商品。', back: '返回商城' },
  orders: { title: '我的订单', empty: '还没有订单。', number: '订单 {number}', placed: '下单时间 {date}', total: '合计', status: '状态', timeline: '进度', pickupCode: '到店出示此码取货', qrAlt: '订单 {number} 的自提二维码', cancel: '取消订单', pay: '立即支付（沙箱）', lines: '商品', pickupAt: '自提门店：{store}', notFound: '找不到该订单。' },
  status: { pending_payment: '待付款', paid: '已付款', allocated: '已分配', picking: '拣货中', packed: '已打包', partially_shipped: '部分发货', shipped: '已发货', ready_for_pickup: '待自提', delivered: '已送达', picked_up: '已取货', cancelled: '已取消', partially_returned: '部分退货', returned: '已退货', pending: '待处理' },
  login: { title: '登录', username: '用户名', password: '密码', submit: '登录', demo: '演示账号：shopper/shopper、staff/staff、host/host、admin/admin' },
  staff: { title: '门店工作台', inbox: '订单收件箱', pickList: '拣货单', handover: '自提交接', returns: '退货', filterStatus: '状态', filterChannel: '销售渠道', any: '全部', store: '门店', empty: '暂无内容。', sku: 'SKU', qty: '数量', orders: '订单', open: '打开', steps: '履约', stepPick: '开始拣货', stepPack: '已打包', stepReady: '可自提', stepShip: '发货', stepDeliver: '已送达', pickupCode: '取货码', handoverSubmit: '交接', handedOver: '订单 {number} 已交接。', orderNumber: '订单号', findOrder: '查找订单', carrier: '承运商', tracking: '运单号', rma: '退货单', receive: '本店收货', restock: '重新入库', notAllowed: '此页面仅限门店员工。', stock: '库存' },
  errors: { generic: '出错了：{message}', offline: '网络不可用。' },
}
