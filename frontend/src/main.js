import { createApp } from 'vue'
import { createPinia } from 'pinia'
import AiPlaybookBuilder from './AiPlaybookBuilder.vue'
import { applyStoredTheme } from './lib/theme.js'
// One design system for the builder and the server pages: tokens and shared components.
import '../../webapp/static/css/design.css'
import './styles.css'

applyStoredTheme()
createApp(AiPlaybookBuilder).use(createPinia()).mount('#app')
