import { createApp } from 'vue'
import { createPinia } from 'pinia'
import AiPlaybookBuilder from './AiPlaybookBuilder.vue'
import './styles.css'

createApp(AiPlaybookBuilder).use(createPinia()).mount('#app')
