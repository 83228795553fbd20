// chart.js, registered with only what the dashboard draws; imported lazily by
// DashboardChart.vue so it never weighs on the first load.
import { CategoryScale, Chart, Filler, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js'

Chart.register(CategoryScale, LinearScale, LineController, LineElement, PointElement, Filler, Tooltip)

export { Chart }
