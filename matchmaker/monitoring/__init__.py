"""监测督导: the figures the policies set targets for (渝府办发〔2020〕76号 十八; 渝经信规范〔2024〕7号
五(五); 东至 增量·扩面·提质·降本), by district, institution and cluster; the organizer's home figures.
Read-only over the other domains; a district organizer sees its district only."""
